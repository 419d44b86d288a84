"""Run an exercise's tests as Aider does: tests restored fresh, preprocessed, the language's
command in the sandbox with a 180 s timeout, stdout and stderr merged; pass = exit code 0.

Aider's preprocessing: `@Disabled(...)` lines are stripped from Java tests (after the
fresh copy), and JS specs get `xtest(` -> `test(` (only that: `xit(` stays, so
javascript/grep runs 2 of its 25 tests, exactly as under Aider).
"""

from __future__ import annotations

import asyncio
import shlex
import re
from dataclasses import dataclass
from pathlib import Path

from agentforge.harnesses.aider.data import Exercise, restore_tests
from agentforge.harnesses.aider.toolchains import toolchain, toolchain_mounts
from agentforge.runtime.sandbox import Limits, Sandbox, SandboxSpec, make_sandbox

TEST_TIMEOUT = 180.0  # Aider's
# The whole output goes back to the model (Aider does not cut it); this cap only keeps a
# runaway test from filling memory (head and tail are kept).
OUTPUT_CHARS = 200_000
TEST_LIMITS = Limits(timeout=TEST_TIMEOUT, memory_mb=6144, pids=1024, output_chars=OUTPUT_CHARS, disk_mb=4096)
_DISABLED = re.compile(r"@Disabled\([^)]*\)\s*\n")
_XTEST = re.compile(r"\bxtest\(")
_DURATION = re.compile(r"\bin \d+\.\d+s\b")  # pytest's "in 0.12s", which Aider strips


@dataclass
class GradedRun:
    passed: bool
    output: str  # cleaned (durations and the workspace path removed)
    timed_out: bool
    seconds: float
    returncode: int


def preprocess_tests(exercise: Exercise, workspace: Path) -> None:
    """Fresh tests, then Aider's edits to them."""
    restore_tests(exercise, workspace)
    for name in exercise.tests:
        path = workspace / name
        if not path.is_file():
            continue
        if path.suffix == ".java":
            path.write_text(_DISABLED.sub("", path.read_text()))
        if exercise.language == "javascript" and path.name.endswith(".spec.js"):
            path.write_text(_XTEST.sub("test(", path.read_text()))


def clean_output(text: str, workdir: str, slug: str) -> str:
    """Aider's cleaning: no durations, and the exercise's absolute path replaced by its name."""
    return _DURATION.sub("", text).replace(f"{workdir}/{slug}", slug).replace(workdir, slug)


def grading_sandbox(workspace: Path, kind: str = "auto") -> Sandbox:
    """The sandbox tests run in: no network, writes only to the workspace and /tmp, the toolchains read-only.

    The exercise lives in `workspace/<slug>`: cpp's CMakeLists.txt takes the exercise's name
    from its folder's."""
    return make_sandbox(kind, SandboxSpec(workspace=workspace, limits=TEST_LIMITS, mounts=toolchain_mounts()))


async def run_tests(exercise: Exercise, box: Sandbox, gate: asyncio.Semaphore | None = None) -> GradedRun:
    """Restore and preprocess the tests in `box`'s workspace, then run them (at most `gate`'s
    number of builds at once: C++, Java and JS builds starve 2 cores)."""
    await asyncio.to_thread(preprocess_tests, exercise, box.workspace / exercise.slug)
    chain = toolchain(exercise.language)
    # nice: a build must not starve the model server sharing the machine
    command = f"cd {shlex.quote(exercise.slug)} && nice -n 10 bash -c {shlex.quote(chain.command)}"
    if gate is None:
        result = await box.exec(command, timeout=TEST_TIMEOUT, env=chain.env)
    else:
        async with gate:
            result = await box.exec(command, timeout=TEST_TIMEOUT, env=chain.env)
    output = clean_output(result.output, box.workdir, exercise.slug)
    if result.error and not result.timed_out:
        output += f"\n{result.error}"
    return GradedRun(passed=result.ok, output=output, timed_out=result.timed_out, seconds=result.seconds,
                   returncode=result.returncode)

