"""A routing example: one task's request and how each specialist did on it.

Built from harness run directories by agentforge.harnesses.routing_examples;
read by the learned policy (learned.py) and the offline evaluation (evaluate.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from agentforge.runtime.messages import Message, ToolSpec
from agentforge.routing.features import request_features


@dataclass
class Example:
    task_id: str
    category: str
    messages: list[Message]
    tools: list[ToolSpec] | None
    outcomes: dict[str, float]  # specialist -> pass rate on this task
    features: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.features:
            self.features = request_features(self.messages, self.tools)


def split_of(task_id: str, test_fraction: float = 0.5) -> str:
    """"train" or "test", fixed per task id (a hash, so adding tasks never moves old ones)."""
    digest = hashlib.sha256(f"routing/{task_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2.0**64 < test_fraction else "train"


