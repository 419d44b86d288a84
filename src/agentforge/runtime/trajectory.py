"""Trajectories: one agent episode, the unit of evaluation, selection and RL.

A trajectory is saved after every step (atomically: write a temporary file,
then rename), so a killed run leaves the last complete step on disk.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, Field

from agentforge.runtime.messages import Completion, Message

Status = Literal["running", "done", "step_limit", "token_limit", "time_limit", "error"]


class Step(BaseModel):
    """One model turn and what the environment answered."""

    completion: Completion
    observations: list[Message] = Field(default_factory=list)  # tool results / format feedback
    reward: float | None = None  # fine-grained step reward, where the task defines one
    model_seconds: float = 0.0
    tool_seconds: float = 0.0
    error: str | None = None


class Trajectory(BaseModel):
    task_id: str = ""
    messages: list[Message] = Field(default_factory=list)  # the whole conversation so far
    steps: list[Step] = Field(default_factory=list)
    final_reward: float | None = None
    status: Status = "running"
    error: str | None = None
    started_at: float = Field(default_factory=time.time)
    finished_at: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def completions(self) -> list[Completion]:
        return [s.completion for s in self.steps]

    @property
    def generated_tokens(self) -> int:
        return sum(c.usage.completion_tokens for c in self.completions)

    @property
    def final_answer(self) -> str | None:
        """The content of the last assistant message, if the episode ended on one."""
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m.content
        return None

    def save(self, path: str | os.PathLike) -> None:
        """Write this trajectory as a one-line JSONL file, atomically."""
        write_atomic(Path(path), self.model_dump_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Trajectory":
        trajectories = load_jsonl(path)
        if len(trajectories) != 1:
            raise ValueError(f"{path}: expected one trajectory, found {len(trajectories)}")
        return trajectories[0]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_jsonl(path: str | os.PathLike, trajectories: Iterable[Trajectory]) -> None:
    write_atomic(Path(path), "".join(t.model_dump_json() + "\n" for t in trajectories))


def load_jsonl(path: str | os.PathLike) -> list[Trajectory]:
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(Trajectory.model_validate_json(line))
            except ValueError as e:
                raise ValueError(f"{path}:{lineno}: not a trajectory: {e}") from e
    return out
