"""A benchmark that needs no model: task i's sample s is right unless
(i + s) % 3 == 0 for odd i (two of three right), always right for i % 4 == 0,
and otherwise right only for s == 0. Known pass@k / pass^k by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agentforge.harnesses.config import RUN_IDENTITY, RunConfig
from agentforge.harnesses.contract import Harness
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.runner import Task


@dataclass
class ToyConfig(RunConfig):
    tasks: int = 8
    selectors: list[str] = field(default_factory=lambda: ["first", "vote", "oracle"])


def right(i: int, s: int) -> bool:
    if i % 4 == 0:
        return True
    if i % 2 == 1:
        return (i + s) % 3 != 0
    return s == 0


class ToyHarness(Harness):
    name = "toy"
    config_class = ToyConfig
    identity = RUN_IDENTITY + ("tasks",)
    pass_hat = True

    def check(self, config: ToyConfig) -> None:
        if config.tasks < 1:
            raise ValueError("--tasks must be at least 1")

    def load_tasks(self, config: ToyConfig) -> list[Task]:
        return [Task(id=f"t{i}", category="odd" if i % 2 else "even", data=i) for i in range(config.tasks)]

    def needs_backend(self, config: ToyConfig) -> bool:
        return False

    def attempt(self, config: ToyConfig, run_dir: Path, backend, console=None):
        async def attempt(task: Task, samples: list[int]) -> list[SampleResult]:
            return [SampleResult(task_id=task.id, sample=s, category=task.category, correct=right(task.data, s),
                                 answer="yes" if right(task.data, s) else f"no{s % 2}") for s in samples]
        return attempt


HARNESS = ToyHarness()
