"""A backend for every provider LiteLLM knows (Anthropic, Bedrock, Gemini, ...).

LiteLLM answers in the OpenAI shape and its exceptions subclass the `openai`
ones, so the conversion and the retry policy are the OpenAI backend's.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Sequence

from agentforge.runtime.backends.base import StreamEvent, stream_from_complete
from agentforge.runtime.backends.openai_backend import as_dict, completions_from_response, request_kwargs
from agentforge.runtime.backends.retries import RetryPolicy, call_with_retries
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec


def _litellm() -> Any:
    # LiteLLM takes seconds to import and would fetch its price list over the
    # network on import unless told to use the copy it ships.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


class LiteLLMBackend:
    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 600.0,
        max_retries: int = 5,
        supports_n: bool = True,
        name: str | None = None,
        default_sampling: Sampling | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        **kwargs: Any,  # passed to litellm.acompletion as they are
    ):
        self.model = model
        self.name = name or model
        self.api_base, self.api_key, self.timeout = api_base, api_key, timeout
        self.supports_n = supports_n
        self.default_sampling = default_sampling or Sampling()
        self.retry = RetryPolicy(max_retries, backoff_base, backoff_max)
        self.kwargs = kwargs

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
    ) -> list[Completion]:
        s = sampling or self.default_sampling
        if n > 1 and not self.supports_n:
            parts = await asyncio.gather(*(self.complete(messages, tools, 1, s) for _ in range(n)))
            return [c for part in parts for c in part]
        litellm = _litellm()
        kw = request_kwargs(messages, tools, n, s)
        kw.update(model=self.model, timeout=self.timeout, num_retries=0, max_retries=0)
        if self.api_base:
            kw["api_base"] = self.api_base
        if self.api_key:
            kw["api_key"] = self.api_key
        kw.update(self.kwargs)

        async def call() -> Any:
            return await litellm.acompletion(**kw)

        what = f"model {self.model!r}" + (f" at {self.api_base}" if self.api_base else "") + " (litellm)"
        resp = await call_with_retries(call, self.retry, what)
        return completions_from_response(as_dict(resp), self.model)

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
    ) -> AsyncIterator[StreamEvent]:
        # Each candidate arrives in one piece; good enough for the providers behind LiteLLM.
        async for ev in stream_from_complete(self, messages, tools, n, sampling):
            yield ev

    async def aclose(self) -> None:
        pass
