"""Shared helpers: the real polyglot data and toolchains, skipped with the fix when absent."""

from __future__ import annotations

import shutil

import pytest

from agentforge.harnesses.aider.data import DataError, default_data_dir, load_exercises
from agentforge.harnesses.aider.toolchains import missing, toolchain


def exercise(language: str, slug: str):
    """The real exercise, or a skip saying where the data should be."""
    try:
        return load_exercises(default_data_dir(), [language], [slug])[0]
    except DataError as e:
        pytest.skip(f"polyglot data not here: {e}")


def require_toolchain(language: str) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed: run `bash scripts/setup-polyglot.sh`")
    absent = missing(language)
    if absent:
        pytest.skip(f"the {language} toolchain is missing ({', '.join(absent)}): run {toolchain(language).install}")


@pytest.fixture(scope="session")
def texts():
    """Aider's prompt texts from the aider-chat sdist (downloaded once from PyPI)."""
    from agentforge.harnesses.aider.aider_texts import AiderTextsError, aider_texts

    try:
        return aider_texts()
    except AiderTextsError as e:
        pytest.skip(f"aider-chat's sdist is unavailable: {e}")
