"""The one interface every model backend implements."""

from __future__ import annotations

from typing import AsyncIterator, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel

from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, ToolSpec


class BackendError(RuntimeError):
    """A model call failed for good (after any retries). The message says what to do."""


class TransientBackendError(BackendError):
    """A failure worth retrying: timeout, rate limit, 5xx, dropped connection."""


class StreamEvent(BaseModel):
    """One piece of a streamed completion: a token's text (with its logprob where
    asked), or - on the last event of a candidate - the finished Completion."""

    index: int = 0  # which of the n candidates
    text: str = ""
    logprob: TokenLogprob | None = None
    completion: Completion | None = None


@runtime_checkable
class Backend(Protocol):
    name: str  # the model name reported to clients

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
    ) -> list[Completion]:
        """Sample n assistant turns for the conversation."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] | None = None,
        n: int = 1,
        sampling: Sampling | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Sample n assistant turns, yielding tokens as they are generated; each
        candidate ends with an event carrying its finished Completion."""
        ...

    async def aclose(self) -> None: ...


async def stream_from_complete(
    backend: Backend,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec] | None,
    n: int,
    sampling: Sampling | None,
) -> AsyncIterator[StreamEvent]:
    """A stream for backends that cannot stream: each candidate in one piece."""
    for i, c in enumerate(await backend.complete(messages, tools, n, sampling)):
        yield StreamEvent(index=i, text=c.text, completion=c)


class ContextLengthError(BackendError):
    """The prompt (with the tokens asked for) does not fit the model's context, or
    (embedded engine) its candidates do not fit the KV cache budget. The
    client's to fix, so `agent serve` answers 400 rather than 502; a BackendError, so
    agent loops record it like any failed model call. The message says how long the
    prompt and the context are, where known."""


class UnsupportedRequestError(BackendError):
    """The request asks for something this backend cannot do as asked (e.g. a strict
    response_format schema its grammar engine cannot compile). The client's to change,
    so `agent serve` answers 400; the message says what to change."""
