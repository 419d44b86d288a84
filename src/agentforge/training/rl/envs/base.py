"""The environment interface RL trains against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.sample import Rollout

SPLITS = ("train", "valid")


@dataclass
class RLTask:
    id: str
    kind: str  # what the reward measures, e.g. "episode" (outcome) or "step" (the step-wise reward)
    data: dict[str, Any] = field(default_factory=dict)
    env: str = ""  # the environment it belongs to, in a multi-task run


class Environment(Protocol):
    name: str

    def tasks(self, split: str) -> list[RLTask]:
        """The tasks of `split` ("train" or "valid"), in a fixed order."""
        ...

    async def rollout(self, task: RLTask, backend: Backend, n: int, sampling: Sampling) -> list[Rollout]:
        """n graded episodes of `task` (a group). `sampling` asks for logprobs and token ids."""
        ...
