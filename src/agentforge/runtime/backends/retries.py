"""Retries for HTTP model backends (OpenAI-compatible, LiteLLM): which failures
are worth another try, how long to wait (exponential backoff with full jitter,
Retry-After honoured), and the BackendError that says what to do when retrying
cannot help. One policy and one set of messages for every upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import re
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import aiohttp
import openai

from agentforge.runtime.backends.base import BackendError, ContextLengthError, TransientBackendError

T = TypeVar("T")
log = logging.getLogger("agentforge.backends")


class RetriesExhaustedError(TransientBackendError):
    """A transient failure that persisted through every retry."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


class BackendTimeoutError(RetriesExhaustedError, TimeoutError):
    """The upstream did not answer in time, on every attempt."""


# ---------------------------------------------------------------- retries


@dataclass
class RetryPolicy:
    max_retries: int = 5  # extra attempts after the first
    backoff_base: float = 0.5  # seconds; attempt k sleeps up to base * 2**k
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0  # never trust a server to park us longer than this

    def delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        # "full jitter": spreads out clients that failed together
        return random.uniform(0.0, min(self.backoff_max, self.backoff_base * 2**retry))


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return float(ms) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return when.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return None


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


_HINTS = {
    400: "check the request options (tools, logprobs, n, max_tokens vs. the model's context)",
    401: "check the API key (api_key=... or the OPENAI_API_KEY environment variable)",
    403: "check the API key's permissions for this model",
    404: "check the model name and the base_url (OpenAI-compatible servers usually end in /v1)",
    422: "check the request options against what this server supports",
}


# How OpenAI, vLLM, llama.cpp and `agent serve` word a prompt longer than the context
_CONTEXT_LENGTH = re.compile(r"context[ _](length|size|window)|too long to fit|maximum context|exceeds the (limit|context)",
                             re.IGNORECASE)


def is_context_length_error(exc: BaseException) -> bool:
    """A client error (4xx) that says the prompt does not fit the model's context."""
    status = getattr(exc, "status_code", None)
    if status not in (400, 413, 422):
        return False
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and inner.get("code") == "context_length_exceeded":
        return True
    return bool(_CONTEXT_LENGTH.search(_server_message(exc)))


class UpstreamError(Exception):
    """A failed exchange on our own aiohttp path (`OpenAIBackend.complete`), shaped
    like openai's errors so that one classification serves both."""


class UpstreamConnectionError(UpstreamError):
    pass


class UpstreamTimeoutError(UpstreamConnectionError):
    pass


class UpstreamStatusError(UpstreamError):
    def __init__(self, status: int, body: Any, headers: Any):
        super().__init__(f"HTTP {status}")
        self.status_code, self.body = status, body
        self.response = SimpleNamespace(headers=headers)


@contextlib.contextmanager
def transport_errors() -> Iterator[None]:
    """aiohttp's failures as our Upstream errors, which classify_error knows."""
    try:
        yield
    except asyncio.TimeoutError as exc:
        raise UpstreamTimeoutError("request timed out") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamConnectionError(str(exc) or type(exc).__name__) from exc


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (openai.APITimeoutError, UpstreamTimeoutError))


def _is_connection_failure(exc: BaseException) -> bool:
    return isinstance(exc, (openai.APIConnectionError, UpstreamConnectionError)) and not _is_timeout(exc)


def classify_error(exc: BaseException) -> tuple[bool, str]:
    """(worth retrying?, a one-line description) for an openai/litellm/our own exception."""
    if _is_timeout(exc):
        return True, "request timed out"
    if isinstance(exc, UpstreamConnectionError):
        return True, f"connection failed ({exc})"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return True, f"connection failed ({cause or exc})"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        retry = status in (408, 429) or status >= 500
        return retry, f"HTTP {status}: {_server_message(exc)}"
    return False, f"{type(exc).__name__}: {exc}"


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    what: str,
    handled: tuple[type[BaseException], ...] = (openai.APIError, UpstreamError),
) -> T:
    """Run fn, retrying transient failures; raise a BackendError saying what to do."""
    attempts = policy.max_retries + 1
    for attempt in range(attempts):
        try:
            return await fn()
        except handled as exc:
            transient, desc = classify_error(exc)
            if not transient:
                if is_context_length_error(exc):
                    raise ContextLengthError(f"{what}: {desc}; shorten the conversation or ask for fewer "
                                             "max_tokens") from exc
                status = getattr(exc, "status_code", None)
                hint = _HINTS.get(status, "check the request and the server's logs")
                raise BackendError(f"{what}: {desc}; {hint}") from exc
            if attempt + 1 >= attempts:
                msg = f"{what}: {desc} (gave up after {attempts} attempts)"
                if _is_connection_failure(exc):
                    msg += "; is the server running and the base_url right?"
                kind = BackendTimeoutError if _is_timeout(exc) else RetriesExhaustedError
                raise kind(msg, attempts) from exc
            delay = policy.delay(attempt, _retry_after(exc))
            log.info("%s: %s; retry %d/%d in %.2fs", what, desc, attempt + 1, policy.max_retries, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
