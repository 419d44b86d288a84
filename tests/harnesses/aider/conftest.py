"""Shared helpers: the real polyglot data and toolchains, skipped with the fix when absent."""

from __future__ import annotations

import os
import shutil

import pytest

from agentforge.harnesses.aider.data import load_exercises
from agentforge.harnesses.aider.toolchains import missing, toolchain

from tests.shared_data import shared_data


@pytest.fixture(autouse=True, scope="session")
def _polyglot_data():
    # The harness (and the `agent bench aider` processes the tests start) read the team's shared copy.
    os.environ.setdefault("AGENTFORGE_POLYGLOT_DATA", str(shared_data("polyglot-benchmark")))


def exercise(language: str, slug: str):
    """The real exercise, from the team's shared data (a test failure saying where it should be)."""
    return load_exercises(shared_data("polyglot-benchmark"), [language], [slug])[0]


def _absent(reason: str) -> None:
    # CI runs scripts/setup-polyglot.sh first, so there a missing toolchain is a failure, never a skip.
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def require_toolchain(language: str) -> None:
    if shutil.which("bwrap") is None:
        _absent("bubblewrap is not installed: run `bash scripts/setup-polyglot.sh`")
    absent = missing(language)
    if absent:
        _absent(f"the {language} toolchain is missing ({', '.join(absent)}): run {toolchain(language).install}")


@pytest.fixture(scope="session")
def texts():
    """Aider's prompt texts from the aider-chat sdist (downloaded once from PyPI)."""
    from agentforge.harnesses.aider.aider_texts import AiderTextsError, aider_texts

    try:
        return aider_texts()
    except AiderTextsError as e:
        pytest.skip(f"aider-chat's sdist is unavailable: {e}")
