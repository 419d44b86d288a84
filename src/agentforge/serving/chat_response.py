"""chat.completion bodies and SSE streams of chunks, from our Completions."""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import aclosing
from typing import Any, Sequence

from aiohttp import web

from agentforge.serving.api_errors import TIMEOUTS, ApiError, backend_error
from agentforge.runtime.backends.base import Backend, BackendError, StreamEvent
from agentforge.serving.chat_request import ChatRequest
from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, ToolCall, ToolSpec

log = logging.getLogger("agentforge.server")

TOOL_CALL_TAG = "<tool_call>"

def _finish_reason(c: Completion) -> str:
    if c.tool_calls:
        return "tool_calls"
    return c.finish_reason if c.finish_reason in ("stop", "length") else "stop"


def _tool_calls_json(calls: Sequence[ToolCall], with_index: bool = False) -> list[dict[str, Any]]:
    out = []
    for k, c in enumerate(calls):
        d: dict[str, Any] = {"id": c.id, "type": "function",
                             "function": {"name": c.function.name, "arguments": c.function.arguments}}
        out.append({"index": k, **d} if with_index else d)
    return out


def _token_bytes(token: str) -> list[int]:
    return list(token.encode("utf-8", errors="replace"))


def _logprobs_json(lps: Sequence[TokenLogprob], top_n: int) -> dict[str, Any]:
    return {"content": [
        {"token": lp.token, "logprob": lp.logprob, "bytes": _token_bytes(lp.token),
         "top_logprobs": [{"token": t.token, "logprob": t.logprob, "bytes": _token_bytes(t.token)}
                          for t in lp.top[:top_n]]}
        for lp in lps
    ]}


def _usage_json(completions: Sequence[Completion]) -> dict[str, int]:
    prompt = max((c.usage.prompt_tokens for c in completions), default=0)
    gen = sum(c.usage.completion_tokens for c in completions)
    return {"prompt_tokens": prompt, "completion_tokens": gen, "total_tokens": prompt + gen}


def chat_completion_body(req: ChatRequest, completions: Sequence[Completion]) -> dict[str, Any]:
    choices = []
    for i, c in enumerate(completions):
        msg: dict[str, Any] = {"role": "assistant", "content": c.content}
        if c.tool_calls:
            msg["tool_calls"] = _tool_calls_json(c.tool_calls)
        if c.reasoning:
            msg["reasoning_content"] = c.reasoning
        choice: dict[str, Any] = {
            "index": i,
            "message": msg,
            "finish_reason": _finish_reason(c),
            "logprobs": _logprobs_json(c.logprobs, req.top_logprobs or 0) if req.logprobs and c.logprobs is not None else None,
        }
        if req.return_token_ids:
            choice["token_ids"] = c.token_ids
        choices.append(choice)
    body = {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "choices": choices,
        "usage": _usage_json(completions),
    }
    extra = _agentforge_extra(completions)
    if extra:
        body["agentforge"] = extra
    return body


EXTRA_KEYS = ("selection", "routing")  # Completion.metadata entries clients see


def _agentforge_extra(completions: Sequence[Completion]) -> dict[str, Any] | None:
    """Our documented extra field: how each choice was selected (best-of-N models) and
    which specialist answered (the router); one value per choice when n > 1."""
    extra = {}
    for key in EXTRA_KEYS:
        values = [c.metadata.get(key) for c in completions]
        if any(values):
            extra[key] = values[0] if len(values) == 1 else values
    return extra or None


# ---------------------------------------------------------------- streaming


def _partial_tag_suffix(text: str) -> int:
    """Length of the longest end of `text` that could begin a `<tool_call>` tag."""
    for k in range(min(len(text), len(TOOL_CALL_TAG) - 1), 0, -1):
        if TOOL_CALL_TAG.startswith(text[-k:]):
            return k
    return 0


class _Holdback:
    """Keeps tool-call markup out of streamed content.

    Text is passed on until `<tool_call>` (or what may be its start) appears; from
    there it waits for the finished Completion, which says what was content.
    A token's logprob goes out with the text its token ends in (approximately:
    tokens and held-back text boundaries need not line up).
    """

    def __init__(self) -> None:
        self.buf = ""
        self.sent = ""
        self.lps: list[TokenLogprob] = []
        self.holding = False

    def push(self, text: str, lp: TokenLogprob | None) -> tuple[str, list[TokenLogprob]]:
        if lp is not None:
            self.lps.append(lp)
        self.buf += text
        if self.holding:
            return "", []
        i = self.buf.find(TOOL_CALL_TAG)
        if i >= 0:
            self.holding = True
            cut = i
        else:
            cut = len(self.buf) - _partial_tag_suffix(self.buf)
        out, self.buf = self.buf[:cut], self.buf[cut:]
        if self.buf and not out:
            return "", []
        keep = 1 if self.buf else 0  # the last token reaches into the held text
        released, self.lps = self.lps[: len(self.lps) - keep], self.lps[len(self.lps) - keep:]
        self.sent += out
        return out, released

    def finish(self, c: Completion) -> tuple[str, list[TokenLogprob]]:
        content = c.content or ""
        tail = content[len(self.sent):] if content.startswith(self.sent) else ("" if c.tool_calls else self.buf)
        lps = [] if c.tool_calls else self.lps  # markup tokens are not content
        self.buf, self.lps = "", []
        return tail, lps


class _SSE:
    def __init__(self, resp: web.StreamResponse, req: ChatRequest):
        self.resp, self.req = resp, req
        self.base = {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": req.model}

    async def send(self, payload: dict[str, Any]) -> None:
        await self.resp.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

    async def choice(self, index: int, delta: dict[str, Any], *, finish: str | None = None,
                     lps: Sequence[TokenLogprob] = (), token_ids: list[int] | None = None) -> None:
        ch: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        if lps and self.req.logprobs:
            ch["logprobs"] = _logprobs_json(lps, self.req.top_logprobs or 0)
        if token_ids is not None:
            ch["token_ids"] = token_ids
        await self.send({**self.base, "choices": [ch]})


async def stream_chat(request: web.Request, req: ChatRequest, backend: Backend,
                      messages: list[Message], tools: list[ToolSpec] | None, sampling: Sampling) -> web.StreamResponse:
    """The SSE response. The backend's first event is awaited before the headers go out,
    so a request it refuses at once (a prompt longer than the context, an upstream 4xx)
    gets its own HTTP status rather than an error inside a 200 stream."""
    async with aclosing(backend.stream(messages, tools, req.n, sampling)) as events:
        first = await anext(events, None)  # failures here reach the middleware, which maps them
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        sse = _ChoiceStreams(resp, req)
        try:
            for i in range(req.n):
                await sse.out.choice(i, {"role": "assistant", "content": ""})
            if first is not None:
                await sse.take(first)
            async for ev in events:
                await sse.take(ev)
            await sse.close()
        except ConnectionResetError:
            log.debug("client went away mid-stream; generation cancelled")
            return resp
        except Exception as exc:  # headers are out: report the failure in the stream itself
            if isinstance(exc, (BackendError, *TIMEOUTS)):
                log.warning("stream failed: %s", exc)
                err = backend_error(exc)
            else:
                log.exception("unexpected error while streaming")
                err = ApiError(500, "Internal server error", code="internal_error", type="server_error")
            try:
                await sse.out.send(err.body())
                await resp.write(b"data: [DONE]\n\n")
            except ConnectionResetError:
                return resp
    await resp.write_eof()
    return resp


class _ChoiceStreams:
    """The n choices' chunks: content held back around tool-call markup, each choice
    finished once, then the extra, usage and [DONE] chunks."""

    def __init__(self, resp: web.StreamResponse, req: ChatRequest):
        self.resp, self.req, self.out = resp, req, _SSE(resp, req)
        self.holds: dict[int, _Holdback] = {}
        self.finished: dict[int, Completion] = {}

    async def take(self, ev: StreamEvent) -> None:
        out = self.out
        if ev.index in self.finished or not 0 <= ev.index < self.req.n:
            return  # a misbehaving backend: ignore rather than corrupt the stream
        hold = self.holds.setdefault(ev.index, _Holdback())
        if ev.completion is None:
            text, lps = hold.push(ev.text, ev.logprob)
            if text or lps:
                await out.choice(ev.index, {"content": text}, lps=lps)
            return
        c = ev.completion
        self.finished[ev.index] = c
        text, lps = hold.finish(c)
        if c.reasoning:
            await out.choice(ev.index, {"reasoning_content": c.reasoning})
        if text or lps:
            await out.choice(ev.index, {"content": text}, lps=lps)
        if c.tool_calls:
            await out.choice(ev.index, {"tool_calls": _tool_calls_json(c.tool_calls, with_index=True)})
        await out.choice(ev.index, {}, finish=_finish_reason(c),
                         token_ids=c.token_ids if self.req.return_token_ids else None)

    async def close(self) -> None:
        out, finished = self.out, self.finished
        for i in range(self.req.n):
            if i not in finished:
                await out.choice(i, {}, finish="stop")
        extra = _agentforge_extra([finished[i] for i in sorted(finished)])
        if extra:  # one extra chunk with no choices, like the usage chunk
            await out.send({**out.base, "choices": [], "agentforge": extra})
        if self.req.stream_options and self.req.stream_options.include_usage:
            await out.send({**out.base, "choices": [], "usage": _usage_json(list(finished.values()))})
        await self.resp.write(b"data: [DONE]\n\n")
