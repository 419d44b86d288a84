"""The `router` virtual model: each request goes to the specialist its policy picks.

A Router is a Backend, so it serves like any model (`agent serve`), runs
through any harness, and nests (a specialist may itself be a best-of-N model).
Every request is routed on its own, so an agent that makes one request per
step is routed per step. The decision travels with each returned completion
in `metadata["routing"]`: the specialist, the policy kind, its reason, the
request's features and policy details (scores, the meta-agent's reply).
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Mapping, Sequence

from agentforge.runtime.backends.base import Backend, StreamEvent
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.routing.features import request_features
from agentforge.routing.policy import Decision, Policy, RoutingError


class Router:
    def __init__(self, name: str, specialists: Mapping[str, Backend], policy: Policy,
                 owned: Sequence[Backend] = ()):
        """`owned`: backends made for this router (closed with it); shared ones stay open."""
        if not specialists:
            raise RoutingError(f"router {name!r}: no specialists")
        missing = [s for s in policy.specialists if s not in specialists]
        if missing:
            raise RoutingError(f"router {name!r}: the {policy.kind} policy can choose {missing[0]!r}, "
                               f"which is not a specialist ({', '.join(specialists)})")
        self.name, self.specialists, self.policy = name, dict(specialists), policy
        self.owned = list(owned)

    async def decide(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> Decision:
        features = request_features(messages, tools)
        decision = await self.policy.choose(messages, tools, features)
        if decision.specialist not in self.specialists:  # a policy bug, not a user error: fail loudly
            raise RoutingError(f"router {self.name!r}: policy {decision.policy} chose unknown "
                               f"specialist {decision.specialist!r}")
        decision.details = {**decision.details, "features": features}
        return decision

    @staticmethod
    def record(decision: Decision) -> dict[str, Any]:
        return {"specialist": decision.specialist, "policy": decision.policy, "reason": decision.reason,
                **decision.details}

    def _tag(self, completion: Completion, decision: Decision) -> Completion:
        completion.metadata = {**completion.metadata, "routing": self.record(decision)}
        return completion

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        decision = await self.decide(messages, tools)
        completions = await self.specialists[decision.specialist].complete(messages, tools, n, sampling)
        return [self._tag(c, decision) for c in completions]

    async def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                     sampling: Sampling | None = None) -> AsyncIterator[StreamEvent]:
        decision = await self.decide(messages, tools)
        async for event in self.specialists[decision.specialist].stream(messages, tools, n, sampling):
            if event.completion is not None:
                self._tag(event.completion, decision)
            yield event

    async def aclose(self) -> None:
        for backend in self.owned:
            await backend.aclose()
