"""Test doubles for the policy: backends that replay a scripted assistant (no model runs).

They stand in for a model where the point is the environment's reward, which
must be exact: the gold conversation earns 1, and each way of cheating 0.
"""

from __future__ import annotations

import json
from typing import Callable

from agentforge.runtime.messages import Completion, Message, TokenLogprob, ToolCall


def completion(content: str | None = None, calls: list[tuple[str, dict | str]] = (), prompt_len: int = 3,
               parse_errors: list[str] | None = None, finish: str | None = None) -> Completion:
    tool_calls = [ToolCall.make(name, args) if isinstance(args, dict) else
                  ToolCall.model_validate({"function": {"name": name, "arguments": args}}) for name, args in calls]
    return Completion(text=content or "", content=content, tool_calls=tool_calls, parse_errors=parse_errors or [],
                      finish_reason=finish or ("tool_calls" if tool_calls else "stop"),
                      token_ids=[7, 8], logprobs=[TokenLogprob(token="a", logprob=-0.5), TokenLogprob(token="b", logprob=-0.25)],
                      prompt_token_ids=list(range(prompt_len)))


def gold_turn(message: dict) -> Completion:
    calls = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]
    return completion(message.get("content") or None, calls)


class Scripted:
    """A Backend whose k-th call (per conversation, counted by its assistant turns) returns policy(k, messages)."""

    name = "scripted"

    def __init__(self, policy: Callable[[int, list[Message]], Completion]) -> None:
        self.policy = policy

    async def complete(self, messages, tools=None, n=1, sampling=None):
        k = sum(m.role == "assistant" for m in messages)
        return [self.policy(k, list(messages)) for _ in range(n)]

    async def aclose(self):
        pass


def replay_gold(record: dict) -> Scripted:
    gold = [m for m in record["messages"] if m["role"] == "assistant"]
    return Scripted(lambda k, _messages: gold_turn(gold[k]) if k < len(gold) else completion("done"))


class WithTokenIds:
    """Wraps a scripted backend (tests/fakes/scripted_backend.py) so its completions carry what RL reads:
    prompt ids and one generated id per logprob, as the embedded engine returns them."""

    def __init__(self, backend) -> None:
        self.backend, self.name = backend, getattr(backend, "name", "scripted")

    async def complete(self, messages, tools=None, n=1, sampling=None):
        out = await self.backend.complete(messages, tools, n, sampling)
        for c in out:
            c.prompt_token_ids = list(range(len(messages)))
            c.token_ids = [7] * len(c.logprobs or [])
        return out

    async def aclose(self):
        pass
