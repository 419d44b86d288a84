"""The policy interface, and the two policies that need no data: fixed and random.

A policy maps one request (messages, tools and their features) to the name
of a specialist, with a reason a person can read. The router calls it once
per request, so an agent that makes one request per step is routed per step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from agentforge.runtime.messages import Message, ToolSpec


class RoutingError(ValueError):
    """A router or policy definition that cannot work; the message says what to fix."""


@dataclass
class Decision:
    specialist: str
    policy: str  # the policy kind that decided
    reason: str
    details: dict[str, Any] = field(default_factory=dict)  # policy-specific: scores, the meta-agent's reply, ...


class Policy(Protocol):
    kind: str
    specialists: tuple[str, ...]

    async def choose(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None,
                     features: dict[str, float]) -> Decision: ...


def check_names(names: Sequence[str], known: Sequence[str], where: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RoutingError(f"{where}: unknown specialist {unknown[0]!r}; the specialists are {', '.join(known)}")


class FixedPolicy:
    """Always the same specialist (a specialist alone, as a baseline)."""

    kind = "fixed"

    def __init__(self, specialists: Sequence[str], specialist: str):
        check_names([specialist], specialists, "fixed policy")
        self.specialists, self.specialist = tuple(specialists), specialist

    async def choose(self, messages, tools, features) -> Decision:
        return Decision(self.specialist, self.kind, f"always {self.specialist}")


class RandomPolicy:
    """A uniformly random specialist per request: per-step switching, the baseline
    that tells whether a policy knows anything. Seeded, so a run can be repeated."""

    kind = "random"

    def __init__(self, specialists: Sequence[str], seed: int | None = None):
        if not specialists:
            raise RoutingError("random policy: no specialists to choose from")
        self.specialists, self.rng = tuple(specialists), random.Random(seed)

    async def choose(self, messages, tools, features) -> Decision:
        pick = self.rng.choice(self.specialists)
        return Decision(pick, self.kind, f"uniform over {len(self.specialists)}")
