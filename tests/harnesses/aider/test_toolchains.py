"""Per language, through the real sandbox and toolchain: the reference solution passes, the stub fails.

Also the toolchain check, and the grader's Aider-specific preprocessing (fresh tests, @Disabled, xtest)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from agentforge.harnesses.aider.check import check_language
from agentforge.harnesses.aider.data import apply_reference, fresh_copy
from agentforge.harnesses.aider.grading import clean_output, preprocess_tests, run_tests, grading_sandbox
from tests.harnesses.aider.conftest import exercise, require_toolchain

ONE_PER_LANGUAGE = [("python", "bowling"), ("go", "bowling"), ("rust", "bowling"), ("javascript", "bowling"),
                    ("java", "bowling"), ("cpp", "all-your-base")]


async def _grade(language: str, slug: str, reference: bool):
    ex = exercise(language, slug)
    with tempfile.TemporaryDirectory() as tmp:
        folder = fresh_copy(ex, Path(tmp) / ex.slug)
        if reference:
            apply_reference(ex, folder)
        async with grading_sandbox(Path(tmp)) as box:
            return await run_tests(ex, box, asyncio.Semaphore(1))


@pytest.mark.slow
@pytest.mark.parametrize("language,slug", ONE_PER_LANGUAGE)
async def test_the_reference_passes_and_the_stub_fails(language, slug):
    require_toolchain(language)
    gold = await _grade(language, slug, reference=True)
    assert gold.passed, gold.output[-3000:]
    assert gold.returncode == 0 and not gold.timed_out
    stub = await _grade(language, slug, reference=False)
    assert not stub.passed and stub.returncode != 0, stub.output[-3000:]


@pytest.mark.parametrize("language", ["python", "go"])
async def test_the_check_runs_the_toolchain_inside_the_sandbox(language):
    require_toolchain(language)
    result = await check_language(language)
    assert result.ok, result.detail
    assert ("pytest" if language == "python" else "go1.21") in result.detail


def test_tests_are_restored_fresh_and_preprocessed_as_aider_does(tmp_path):
    java = exercise("java", "bowling")
    folder = fresh_copy(java, tmp_path / "java" / java.slug)
    test_file = folder / java.tests[0]
    assert "@Disabled" in (java.path / java.tests[0]).read_text()
    test_file.write_text("// the model rewrote the tests\n")
    preprocess_tests(java, folder)
    text = test_file.read_text()
    assert "the model rewrote" not in text and "@Test" in text and "@Disabled" not in text
    js = exercise("javascript", "grep")  # its spec uses xit(, which Aider's sed leaves alone
    folder = fresh_copy(js, tmp_path / "js" / js.slug)
    preprocess_tests(js, folder)
    spec = (folder / js.tests[0]).read_text()
    assert "xtest(" not in spec and "xit(" in spec


def test_a_symlink_planted_over_a_test_file_is_replaced_not_written_through(tmp_path):
    ex = exercise("python", "bowling")
    folder = fresh_copy(ex, tmp_path / ex.slug)
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    (folder / ex.tests[0]).unlink()
    (folder / ex.tests[0]).symlink_to(outside)
    preprocess_tests(ex, folder)
    assert outside.read_text() == "host file"
    assert not (folder / ex.tests[0]).is_symlink() and "BowlingTest" in (folder / ex.tests[0]).read_text()


def test_output_cleaning_drops_durations_and_the_workspace_path():
    text = "/workspace/bowling/bowling_test.py::test FAILED\n=== 1 failed in 0.12s ==="
    assert clean_output(text, "/workspace", "bowling") == "bowling/bowling_test.py::test FAILED\n=== 1 failed  ==="
