"""A test double for a model that answers from a script.

BFCL harness tests need a model that makes *known* calls (the ground truth, or
a deliberately wrong variant) to check the episode loop, the environment and
the scoring end to end; no real model here can be made to do that.
`reply(messages, tools, index)` returns the text and tool calls of one
candidate; every completion carries simple logprobs so selectors get signals.
`raw_text=True`: the completion's text also holds the calls' Hermes markup, as
real backends give it (the BFCL harness decodes that raw text officially).
"""

from __future__ import annotations

import json
from typing import Callable, Sequence

from agentforge.runtime.backends.base import stream_from_complete
from agentforge.runtime.messages import (Completion, FunctionCall, Message, Sampling, TokenLogprob, ToolCall,
                                         ToolSpec, TopLogprob, Usage)
from agentforge.runtime.parsing import render_hermes_call

Reply = Callable[[Sequence[Message], Sequence[ToolSpec] | None, int], tuple[str, list[tuple[str, dict]]]]


class ScriptedBackend:
    def __init__(self, reply: Reply, name: str = "scripted", raw_text: bool = False):
        self.name, self.reply, self.raw_text = name, reply, raw_text
        self.requests: list[tuple[int, Sampling]] = []

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        self.requests.append((n, sampling or Sampling()))
        out = []
        for i in range(n):
            text, calls = self.reply(messages, tools, i)
            tool_calls = [ToolCall(function=FunctionCall(name=name, arguments=json.dumps(args))) for name, args in calls]
            logprobs = [TokenLogprob(token="t", logprob=-0.1 * (i + 1),
                                     top=[TopLogprob(token="t", logprob=-0.1 * (i + 1)), TopLogprob(token="u", logprob=-3.0)])
                        for _ in range(5)]
            raw = "\n".join(([text] if text else []) + [render_hermes_call(c) for c in tool_calls]) if self.raw_text else text
            out.append(Completion(text=raw, content=text or None, tool_calls=tool_calls, logprobs=logprobs,
                                  usage=Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)))
        return out

    def stream(self, messages, tools=None, n=1, sampling=None):
        return stream_from_complete(self, messages, tools, n, sampling)

    async def aclose(self) -> None:
        pass
