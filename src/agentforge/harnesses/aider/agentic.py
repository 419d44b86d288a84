"""Agentic mode: our code agent (bash + the editor) on an exercise, in the sandbox.

The agent's workspace holds the exercise without its tests, test support, reference
(`.meta/`), docs and approaches: they are not copied at all (data.fresh_copy with
agentic=True), so no command can read them. It gets the instructions as its task, the
language's toolchain on its PATH, and may write and run tests of its own. When it
submits (or runs out of steps), the hidden files are put back and the tests run once,
in a fresh sandbox, exactly as in Aider's protocol (files restored, preprocessed, 180 s).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agentforge.harnesses.aider.data import Exercise, restore_hidden
from agentforge.harnesses.aider.grading import run_tests, grading_sandbox
from agentforge.harnesses.aider.toolchains import toolchain, toolchain_mounts
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding.loop import CodingLimits, run_coding_agent
from agentforge.runtime.git import run_git
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import Limits, SandboxSpec, make_sandbox
from agentforge.runtime.sandbox.bwrap import PATH as SANDBOX_PATH

AGENT_LIMITS = Limits(timeout=180.0, memory_mb=4096, pids=512, output_chars=10_000, disk_mb=4096)
TEST_HINTS = {
    "python": "pytest (write your own test file, e.g. my_test.py)",
    "go": "go test ./... (write your own *_test.go file)",
    "rust": "cargo test --offline (add your own tests under tests/ or in src/lib.rs)",
    "javascript": "npx jest (your own *.spec.js; run `ln -s /agentforge/polyglot/node/node_modules` first)",
    "cpp": "g++ -std=c++17 (compile your own main.cpp against the solution files)",
    "java": "javac -d /tmp/out $(find src -name '*.java') (a main() of your own to try the code)",
}


def task_text(exercise: Exercise, workdir: str) -> str:
    docs = "".join(p.read_text() for p in exercise.docs())
    files = ", ".join(f"{workdir}/{exercise.slug}/{f}" for f in exercise.solution)
    return (f"{docs}\n\nImplement this in {files} (the exercise is in {workdir}/{exercise.slug}). Don't change "
            "the names of existing functions or classes: hidden unit tests use them. Use only the standard "
            "library. The hidden tests are not in the workspace; you can check your work with tests of your own: "
            f"{TEST_HINTS[exercise.language]}. Delete your own test files before you submit.")


def _agent_env(language: str) -> dict[str, str]:
    env = dict(toolchain(language).env)
    if "PATH" in env:  # the toolchain's own bin folder first, then the sandbox's usual PATH
        env["PATH"] = env["PATH"].split(":")[0] + ":" + SANDBOX_PATH
    return env


async def run_agentic(exercise: Exercise, folder: Path, root: Path, backend: Backend, config, sampling: Sampling,
                      gate: asyncio.Semaphore):
    """(results, final solution files, trajectory as JSON, completions) for one candidate."""
    started = time.monotonic()
    await asyncio.to_thread(_commit_start, root)
    box = make_sandbox(config.sandbox, SandboxSpec(workspace=root, limits=AGENT_LIMITS, mounts=toolchain_mounts(),
                                                   env=_agent_env(exercise.language)))
    async with box:
        result = await run_coding_agent(
            backend, box, task_text(exercise, box.workdir), action_format="text", sampling=sampling,
            limits=CodingLimits(max_steps=config.max_steps, context_tokens=config.context_tokens,
                                command_timeout=AGENT_LIMITS.timeout),
            top_logprobs=config.top_logprobs or None, task_id=exercise.id)
    await asyncio.to_thread(restore_hidden, exercise, folder)
    async with grading_sandbox(root, config.sandbox) as tests:
        run = await run_tests(exercise, tests, gate)
    files = {f: (folder / f).read_text(errors="replace") for f in exercise.solution if (folder / f).is_file()}
    results = dict(tests_outcomes=[run.passed], duration=round(time.monotonic() - started, 2), test_timeouts=int(run.timed_out),
                   num_malformed_responses=sum(1 for s in result.trajectory.steps if s.error == "format error"),
                   prompt_tokens=sum(c.usage.prompt_tokens for c in result.completions),
                   completion_tokens=sum(c.usage.completion_tokens for c in result.completions),
                   agent_status=result.status, agent_steps=result.steps)
    transcript = [m.model_dump(exclude_none=True) for m in result.trajectory.messages]
    transcript.append({"test_run": {"passed": run.passed, "timed_out": run.timed_out, "output": run.output}})
    return results, files, transcript, result.completions


def _commit_start(root: Path) -> None:
    """A git repository of the starting workspace, so the agent's patch can be taken."""
    config = ("-c", "user.name=agentforge", "-c", "user.email=agentforge@localhost", "-c", "commit.gpgsign=false")
    run_git("init", "-q", cwd=root)
    run_git("add", "-A", cwd=root)
    run_git("commit", "-q", "-m", "exercise", cwd=root, config=config)
