"""`EchoBackend`: a deterministic test double standing in for a model.

The server and client tests need a Backend whose output they can predict
exactly; end-to-end tests with the real embedded model live elsewhere. It
"generates" a reply from the last user message, split into 4-character
"tokens" (so a `<tool_call>` tag arrives in pieces, as with a real tokenizer):

- `call NAME k=v ...`  -> Hermes markup calling tool NAME with {k: v}
- `fail transient` / `fail hard` -> TransientBackendError / BackendError
- `slow`               -> takes ~10 s (a token every 0.1 s when streaming)
- anything else        -> `echo[i]: <message>`
"""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator, Sequence

from agentforge.runtime.backends.base import BackendError, StreamEvent, TransientBackendError
from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, ToolSpec, TopLogprob, Usage
from agentforge.runtime.parsing import parse_hermes

TOKEN_CHARS = 4


class EchoBackend:
    def __init__(self, name: str = "echo"):
        self.name = name
        self.calls: list[dict] = []  # what each complete/stream call received
        self.cancelled = 0  # generations stopped before they finished
        self.closed = False

    def _reply(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, i: int) -> str:
        last = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
        words = last.split()
        if words[:1] == ["call"] and len(words) >= 2:
            args = dict(w.split("=", 1) for w in words[2:] if "=" in w)
            body = json.dumps({"name": words[1], "arguments": args})
            return f"Checking.<tool_call>\n{body}\n</tool_call>"
        if last == "fail transient":
            raise TransientBackendError("the fake model is overloaded")
        if last == "fail hard":
            raise BackendError("the fake model broke")
        return f"echo[{i}]: {last}"

    def _completion(self, text: str, messages: Sequence[Message], s: Sampling) -> Completion:
        pieces = [text[k:k + TOKEN_CHARS] for k in range(0, len(text), TOKEN_CHARS)]
        truncated = len(pieces) > s.max_tokens
        pieces = pieces[: s.max_tokens]
        text = "".join(pieces)
        parsed = parse_hermes(text)
        logprobs = None
        if s.logprobs:
            logprobs = [
                TokenLogprob(token=p, logprob=-0.5 * (k % 3), token_id=1000 + k,
                             top=[TopLogprob(token=p if j == 0 else f"alt{j}", logprob=-0.5 * (k % 3) - j, token_id=j)
                                  for j in range(s.top_logprobs)])
                for k, p in enumerate(pieces)
            ]
        prompt = sum(len((m.content or "").split()) for m in messages)
        return Completion(
            text=text,
            content=parsed.content,
            tool_calls=parsed.tool_calls,
            finish_reason="length" if truncated else ("tool_calls" if parsed.tool_calls else "stop"),
            usage=Usage(prompt_tokens=prompt, completion_tokens=len(pieces)),
            token_ids=[1000 + k for k in range(len(pieces))],
            logprobs=logprobs,
            model=self.name,
        )

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None,
                       n: int = 1, sampling: Sampling | None = None) -> list[Completion]:
        s = sampling or Sampling()
        self.calls.append({"messages": list(messages), "tools": tools, "n": n, "sampling": s})
        if messages and messages[-1].content == "slow":
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return [self._completion(self._reply(messages, tools, i), messages, s) for i in range(n)]

    async def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None,
                     n: int = 1, sampling: Sampling | None = None) -> AsyncIterator[StreamEvent]:
        s = sampling or Sampling()
        self.calls.append({"messages": list(messages), "tools": tools, "n": n, "sampling": s, "stream": True})
        slow = bool(messages) and messages[-1].content == "slow"
        done = False
        try:
            for i in range(n):
                c = self._completion("x" * 400 if slow else self._reply(messages, tools, i), messages, s)
                pieces = [c.text[k:k + TOKEN_CHARS] for k in range(0, len(c.text), TOKEN_CHARS)]
                for k, piece in enumerate(pieces):
                    if slow:
                        await asyncio.sleep(0.1)
                    yield StreamEvent(index=i, text=piece, logprob=c.logprobs[k] if c.logprobs else None)
                yield StreamEvent(index=i, completion=c)
            done = True
        finally:
            if not done:
                self.cancelled += 1

    async def aclose(self) -> None:
        self.closed = True
