"""Helpers for the coding-agent tests: a tiny git repository with a bug, and
scripted model turns.

The model in these tests is scripted (tests/fakes/scripted_backend.py): the
n-th reply of a conversation is the n-th entry of the script, chosen by how
many assistant turns the conversation already has, so concurrent runs each
follow their own script.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Sequence

from agentforge.runtime.messages import Message, ToolSpec
from tests.fakes.scripted_backend import ScriptedBackend

BUGGY = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = "from calc import add, mul\n\nassert add(2, 3) == 5, add(2, 3)\nassert mul(2, 3) == 6\nprint('ok')\n"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

Turn = tuple[str, list[tuple[str, dict]]]  # (text, [(tool name, arguments)])


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert out.returncode == 0, out.stderr
    return out.stdout


def make_repo(path: Path) -> Path:
    """calc.py (add subtracts: the bug) and check_calc.py (plain asserts, runs with python3)."""
    path.mkdir(parents=True)
    (path / "calc.py").write_text(BUGGY)
    (path / "check_calc.py").write_text(TESTS)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return path


def bash(command: str, thought: str = "THOUGHT: next step.") -> Turn:
    """A text-format turn: a thought and one bash block."""
    return f"{thought}\n\n```bash\n{command}\n```", []


def call(name: str, **arguments) -> Turn:
    """A native-tools turn with one tool call."""
    return "", [(name, arguments)]


def scripted(turns: Sequence[Turn] | Callable[[int | None], Sequence[Turn]]) -> ScriptedBackend:
    """A ScriptedBackend replaying `turns` in every conversation (the last one repeats).
    `turns` may be a function of the request's sampling seed, to give runs different scripts
    (`agent solve` samples candidate i with seed + i)."""

    def reply(messages: Sequence[Message], tools: Sequence[ToolSpec] | None, index: int):
        seed = backend.requests[-1][1].seed  # complete() records the request just before asking us
        backend.offered.append([t.name for t in tools or ()])
        script = turns(seed) if callable(turns) else turns
        done = sum(1 for m in messages if m.role == "assistant")
        return script[min(done, len(script) - 1)]

    backend = ScriptedBackend(reply)
    backend.offered = []  # the tool names each model call was offered
    return backend
