"""The OpenAI-compatible HTTP endpoint: `/v1/chat/completions`, `/v1/models`, `/health`.

Any `Backend` can sit behind it, keyed by the model name clients ask for. Bad
input always gets a 4xx with an OpenAI-style error body, never a 5xx; backend
failures map to 502 (failed), 503 (transient: retry later) and 504 (timeout).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import uuid
from contextlib import aclosing
from typing import Any, Literal, Mapping, Sequence

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentforge.runtime.backends.base import Backend, BackendError, TransientBackendError
from agentforge.runtime.keys import KeyPolicy
from agentforge.runtime.keys import find as find_key
from agentforge.runtime.keys import policies as key_policies
from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, ToolCall, ToolSpec

log = logging.getLogger("agentforge.server")

TOOL_CALL_TAG = "<tool_call>"
TIMEOUTS = (TimeoutError, asyncio.TimeoutError)  # distinct classes before Python 3.11
MAX_SEED = 2**63 - 1


class ServerLimits(BaseModel):
    max_n: int = 16
    max_tokens: int = 8192  # also the default when a request sets none, as OpenAI does
    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 2048
    request_timeout: float | None = None  # seconds for a non-streaming request; None = no limit


# ---------------------------------------------------------------- errors


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error", retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        return web.json_response(self.body(), status=self.status, headers=headers)


def _backend_error(exc: BaseException) -> ApiError:
    if isinstance(exc, TIMEOUTS):
        detail = f": {exc}" if str(exc) else ""
        return ApiError(504, f"The model timed out{detail}", code="timeout", type="server_error")
    if isinstance(exc, TransientBackendError):
        return ApiError(503, f"The model is temporarily unavailable: {exc}", code="backend_unavailable", type="server_error")
    return ApiError(502, f"The model failed: {exc}", code="backend_error", type="server_error")


_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


def _loc(loc: Sequence[Any]) -> str:
    # pydantic puts union branch tags ("str", "NamedToolChoice", "list[str]") in the
    # location; clients want the JSON path only
    return ".".join(str(p) for p in loc if isinstance(p, int) or _FIELD.match(str(p)))


def _validation_error(exc: ValidationError) -> ApiError:
    errs = exc.errors(include_url=False, include_input=False)
    locs = [_loc(e["loc"]) for e in errs]
    param = locs[0] if errs else ""
    for other in locs[1:]:  # the path all errors share (several for a union field)
        while param and not (other == param or other.startswith(param + ".")):
            param = param.rpartition(".")[0]
    param = param or (locs[0] if locs else "")  # unrelated fields: name the first
    lines = list(dict.fromkeys(f"{loc or 'body'}: {e['msg']}" for loc, e in zip(locs, errs)))
    more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
    return ApiError(400, "Invalid request: " + "; ".join(lines[:3]) + more, param=param or None, code="invalid_value")


# ---------------------------------------------------------------- request model


class InMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None

    @field_validator("content")
    @classmethod
    def _join_text_parts(cls, v: Any) -> str | None:
        if not isinstance(v, list):
            return v
        texts = []
        for part in v:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError("only text content parts ({\"type\": \"text\", \"text\": \"...\"}) are supported")
            texts.append(part["text"])
        return "\n".join(texts)

    @model_validator(mode="after")
    def _content_required(self) -> "InMessage":
        if self.content is None and self.role != "assistant":
            raise ValueError(f"a {self.role} message needs content")
        return self

    def to_message(self) -> Message:
        return Message(
            role="system" if self.role == "developer" else self.role,  # OpenAI's newer name for it
            content=self.content,  # type: ignore[arg-type]  # joined by the validator
            tool_calls=self.tool_calls or None,
            tool_call_id=self.tool_call_id,
            name=self.name,
            reasoning=self.reasoning_content or self.reasoning,
        )


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The chat.completions request; unknown fields are ignored (vLLM extras top_k
    and return_token_ids are understood, and so are parallel_tool_calls and our
    `constrained` switch for grammar-constrained tool calls)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[InMessage] = Field(min_length=1)
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    n: int = Field(1, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=-1)  # -1 or 0: off (vLLM uses -1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=-MAX_SEED - 1, le=MAX_SEED)
    stop: str | list[str] | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    stream: bool = False
    stream_options: StreamOptions | None = None
    return_token_ids: bool = False
    parallel_tool_calls: bool | None = None
    constrained: bool | None = None  # grammar-constrained tool calls (embedded backend): None = its default

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, v: list[ToolSpec] | None) -> list[ToolSpec] | None:
        for t in v or []:
            if not t.function.name.strip():
                raise ValueError("every tool needs a non-empty function name")
        return v

    def max_new_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def sampling(self, default_max_tokens: int) -> Sampling:
        choice = self.tool_choice.model_dump() if isinstance(self.tool_choice, BaseModel) else self.tool_choice
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        return Sampling().merged(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=max(self.top_k or 0, 0),
            max_tokens=self.max_new_tokens() or default_max_tokens,
            seed=self.seed,
            stop=stop,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs,
            tool_choice=choice,
            extra_body=self._engine_options() or None,
        )

    def _engine_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"return_token_ids": True} if self.return_token_ids else {}
        if self.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = self.parallel_tool_calls
        if self.constrained is not None:
            options["constrained"] = self.constrained
        return options


def _check_limits(req: ChatRequest, limits: ServerLimits) -> None:
    if req.n > limits.max_n:
        raise ApiError(400, f"n={req.n} is more than this server allows ({limits.max_n})", param="n", code="invalid_value")
    max_new = req.max_new_tokens()
    if max_new is not None and max_new > limits.max_tokens:
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        raise ApiError(400, f"{param}={max_new} is more than this server allows ({limits.max_tokens})",
                       param=param, code="invalid_value")
    if len(req.messages) > limits.max_messages:
        raise ApiError(400, f"{len(req.messages)} messages is more than this server allows ({limits.max_messages})",
                       param="messages", code="invalid_value")
    if req.top_logprobs and not req.logprobs:
        raise ApiError(400, "top_logprobs needs logprobs=true", param="top_logprobs", code="invalid_value")
    names = {t.name for t in req.tools or []}
    if isinstance(req.tool_choice, NamedToolChoice) and req.tool_choice.function.name not in names:
        raise ApiError(400, f"tool_choice names {req.tool_choice.function.name!r}, which is not in tools",
                       param="tool_choice", code="invalid_value")
    if req.tool_choice == "required" and not names:
        raise ApiError(400, "tool_choice='required' needs tools", param="tool_choice", code="invalid_value")


async def _read_request(request: web.Request, limits: ServerLimits) -> ChatRequest:
    ctype = request.headers.get("Content-Type", "")
    if ctype and not (request.content_type == "application/json" or request.content_type.endswith("+json")):
        raise ApiError(400, f"Content-Type must be application/json, not {request.content_type!r}",
                       code="invalid_content_type")
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise ApiError(413, f"The request body is larger than {limits.max_body_bytes} bytes", code="request_too_large")
    raw = await request.read()  # aiohttp enforces client_max_size (413) for chunked bodies
    try:
        data = json.loads(raw)
        # Lone surrogates survive json.loads but break every upstream: reject them here.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object", code="invalid_json")
    try:
        req = ChatRequest.model_validate(data, strict=True)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply", code="invalid_value") from None
    _check_limits(req, limits)
    return req


# ---------------------------------------------------------------- response shapes


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


async def _stream_chat(request: web.Request, req: ChatRequest, backend: Backend,
                       messages: list[Message], tools: list[ToolSpec] | None, sampling: Sampling) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    out = _SSE(resp, req)
    holds: dict[int, _Holdback] = {}
    finished: dict[int, Completion] = {}
    try:
        for i in range(req.n):
            await out.choice(i, {"role": "assistant", "content": ""})
        async with aclosing(backend.stream(messages, tools, req.n, sampling)) as events:
            async for ev in events:
                if ev.index in finished or not 0 <= ev.index < req.n:
                    continue  # a misbehaving backend: ignore rather than corrupt the stream
                hold = holds.setdefault(ev.index, _Holdback())
                if ev.completion is None:
                    text, lps = hold.push(ev.text, ev.logprob)
                    if text or lps:
                        await out.choice(ev.index, {"content": text}, lps=lps)
                    continue
                c = ev.completion
                finished[ev.index] = c
                text, lps = hold.finish(c)
                if c.reasoning:
                    await out.choice(ev.index, {"reasoning_content": c.reasoning})
                if text or lps:
                    await out.choice(ev.index, {"content": text}, lps=lps)
                if c.tool_calls:
                    await out.choice(ev.index, {"tool_calls": _tool_calls_json(c.tool_calls, with_index=True)})
                await out.choice(ev.index, {}, finish=_finish_reason(c),
                                 token_ids=c.token_ids if req.return_token_ids else None)
        for i in range(req.n):
            if i not in finished:
                await out.choice(i, {}, finish="stop")
        extra = _agentforge_extra([finished[i] for i in sorted(finished)])
        if extra:  # one extra chunk with no choices, like the usage chunk
            await out.send({**out.base, "choices": [], "agentforge": extra})
        if req.stream_options and req.stream_options.include_usage:
            await out.send({**out.base, "choices": [], "usage": _usage_json(list(finished.values()))})
        await resp.write(b"data: [DONE]\n\n")
    except ConnectionResetError:
        log.debug("client went away mid-stream; generation cancelled")
        return resp
    except Exception as exc:  # headers are out: report the failure in the stream itself
        if isinstance(exc, (BackendError, *TIMEOUTS)):
            log.warning("stream failed: %s", exc)
            err = _backend_error(exc)
        else:
            log.exception("unexpected error while streaming")
            err = ApiError(500, "Internal server error", code="internal_error", type="server_error")
        try:
            await out.send(err.body())
            await resp.write(b"data: [DONE]\n\n")
        except ConnectionResetError:
            return resp
    await resp.write_eof()
    return resp


# ---------------------------------------------------------------- handlers and app


def api_keys_from_env(var: str = "AGENTFORGE_API_KEYS") -> list[str]:
    return [k.strip() for k in os.environ.get(var, "").split(",") if k.strip()]


def _bearer(request: web.Request) -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _http_error(exc: web.HTTPException) -> ApiError:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
    return ApiError(exc.status, exc.reason, code=codes.get(exc.status))


def make_app(backends: Mapping[str, Backend], api_keys: Sequence["str | KeyPolicy"] = (),
             limits: ServerLimits | None = None) -> web.Application:
    """`api_keys`: keys as strings (`KEY[:RPM[:CONCURRENCY]]`) or KeyPolicy objects; none = no auth."""
    limits = limits or ServerLimits()
    keys = key_policies(api_keys)

    def admit(request: web.Request) -> KeyPolicy | None:
        """The caller's key policy, after checking it and taking one request of its budget."""
        if not keys or not request.path.startswith("/v1/"):
            return None
        policy = find_key(keys, _bearer(request))
        if policy is None:
            raise ApiError(401, "Missing or invalid API key: send 'Authorization: Bearer <key>'",
                           code="invalid_api_key")
        if policy.concurrency and policy.in_flight >= policy.concurrency:
            raise ApiError(429, f"Too many requests in flight for this key (at most {policy.concurrency}); "
                           "retry when one finishes", code="rate_limit_exceeded", type="requests", retry_after=1)
        wait = policy.take()
        if wait:
            raise ApiError(429, f"Rate limit of {policy.rpm:g} requests per minute reached for this key; "
                           f"retry in {wait:.1f} s", code="rate_limit_exceeded", type="requests",
                           retry_after=max(1, int(wait + 0.999)))
        return policy

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        policy = None
        try:
            policy = admit(request)
            if policy is not None:
                policy.in_flight += 1
            try:
                return await handler(request)
            finally:
                if policy is not None:
                    policy.in_flight -= 1
        except ApiError as exc:
            return exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _http_error(exc).response()
        except (BackendError, *TIMEOUTS) as exc:
            log.warning("backend failed: %s", exc)
            return _backend_error(exc).response()
        except Exception:
            log.exception("unexpected error handling %s %s", request.method, request.path)
            return ApiError(500, "Internal server error", code="internal_error", type="server_error").response()

    virtual: dict[str, Backend] = {}

    def backend_for(name: str) -> Backend:
        if name in backends:
            return backends[name]
        if name in virtual:
            return virtual[name]
        from agentforge.selectors.best_of_n import BestOfN, VirtualModelError, parse_virtual_model

        try:
            parsed = parse_virtual_model(name, max_n=limits.max_n)
        except VirtualModelError as exc:
            raise ApiError(400, str(exc), param="model", code="invalid_model") from None
        if parsed is None or parsed[0] not in backends:
            hint = " (and MODEL@best-of-N:SELECTOR of any of them)" if backends else ""
            raise ApiError(404, f"The model {name!r} does not exist; available: {sorted(backends)}{hint}",
                           param="model", code="model_not_found")
        base, n, selector = parsed
        virtual[name] = BestOfN(backends[base], n, selector, name=name)
        return virtual[name]

    async def chat(request: web.Request) -> web.StreamResponse:
        req = await _read_request(request, limits)
        backend = backend_for(req.model)
        if req.n > getattr(backend, "n", req.n):  # a best-of-N model returns at most N choices
            raise ApiError(400, f"{req.model} returns at most {backend.n} choices; ask for n <= {backend.n}",
                           param="n", code="invalid_value")
        messages = [m.to_message() for m in req.messages]
        tools = list(req.tools) if req.tools else None
        sampling = req.sampling(limits.max_tokens)
        if req.stream:
            return await _stream_chat(request, req, backend, messages, tools, sampling)
        work = backend.complete(messages, tools, req.n, sampling)
        completions = await (asyncio.wait_for(work, limits.request_timeout) if limits.request_timeout else work)
        return web.json_response(chat_completion_body(req, completions))

    def model_card(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": "agentforge"}

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [model_card(n) for n in backends]})

    async def model(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        backend_for(name)
        return web.json_response(model_card(name))

    async def health(request: web.Request) -> web.Response:
        """Liveness (always 200 while serving), with each replica pool's state."""
        pools = {name: b.status() for name, b in backends.items() if callable(getattr(b, "status", None))}
        body: dict[str, Any] = {"status": "ok"}
        if pools:
            body["status"] = "ok" if all(p["healthy"] == len(p["replicas"]) for p in pools.values()) else "degraded"
            body["pools"] = pools
        return web.json_response(body)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(openapi_spec(bool(keys), limits))

    app = web.Application(middlewares=[guard], client_max_size=limits.max_body_bytes)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/models/{name:.+}", model)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    return app


def _message_variants(message: dict[str, Any]) -> dict[str, Any]:
    """InMessage as the validators see it: content required except from the assistant, and only text parts."""
    text_part = {"type": "object", "required": ["type", "text"],
                 "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}
    content = [{"type": "string"}, {"type": "array", "items": text_part}]
    variants = []
    for roles, required in ((["system", "developer", "user", "tool"], True), (["assistant"], False)):
        props = {**message["properties"], "role": {"enum": roles, "type": "string"},
                 "content": {"anyOf": content if required else [*content, {"type": "null"}]}}
        variants.append({**message, "properties": props,
                         "required": ["role", "content"] if required else ["role"]})
    return {"oneOf": variants, "title": message.get("title", "InMessage")}


def openapi_spec(with_auth: bool = False, limits: ServerLimits | None = None) -> dict[str, Any]:
    """An OpenAPI 3.1 description of the routes; the request schema comes from ChatRequest,
    tightened to what the validators and this server's limits accept."""
    limits = limits or ServerLimits()
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    defs["InMessage"] = _message_variants(defs["InMessage"])
    props = schema["properties"]
    props["n"]["maximum"] = limits.max_n
    props["messages"]["maxItems"] = limits.max_messages
    for name in ("max_tokens", "max_completion_tokens"):
        props[name]["anyOf"][0]["maximum"] = limits.max_tokens
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok_json = {"content": {"application/json": {"schema": {"type": "object"}}}}
    chat_responses = {"200": {"description": "a chat.completion object, or an SSE stream of chunks when stream=true",
                              "content": {"application/json": {"schema": {"type": "object"}},
                                          "text/event-stream": {"schema": {"type": "string"}}}}}
    chat_responses.update({s: err for s in ("400", "401", "404", "413", "502", "503", "504")})
    security = [{"bearer": []}] if with_auth else []
    return {
        "openapi": "3.1.0",
        "info": {"title": "agentforge", "version": "1"},
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion", "security": security,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ChatRequest"}}}},
                "responses": chat_responses}},
            "/v1/models": {"get": {"operationId": "listModels", "security": security,
                                   "responses": {"200": {"description": "the served models", **ok_json}, "401": err}}},
            "/v1/models/{name}": {"get": {
                "operationId": "retrieveModel", "security": security,
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "one model", **ok_json}, "401": err, "404": err}}},
            "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "alive", **ok_json}}}},
        },
        "components": {
            "schemas": {**defs, "ChatRequest": schema, "Error": error},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


# ---------------------------------------------------------------- running it


async def start_server(app: web.Application, host: str = "127.0.0.1", port: int = 0,
                       shutdown_timeout: float = 10.0) -> tuple[web.AppRunner, int]:
    """Start the app; returns the runner (call `.cleanup()`) and the bound port.

    `.cleanup()` gives requests in flight `shutdown_timeout` seconds to finish, then
    cancels them (aiohttp's own 60 s kept `agent serve` alive long after SIGTERM)."""
    # handler_cancellation: a client that hangs up cancels its generation
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


async def serve(backends: Mapping[str, Backend | str], host: str = "127.0.0.1", port: int = 8000,
                api_keys: Sequence[str] = (), limits: ServerLimits | None = None) -> None:
    """Serve until cancelled; backends may be given as specs for `make_backend`.
    The backends are closed on the way out (that stops a launched vLLM)."""
    from agentforge.runtime.backends import make_backend

    resolved: dict[str, Backend] = {}
    runner = None
    try:
        for name, b in backends.items():
            resolved[name] = await make_backend(b) if isinstance(b, str) else b
        runner, bound = await start_server(make_app(resolved, api_keys, limits), host, port)
        log.info("serving %s on http://%s:%d/v1", ", ".join(resolved), host, bound)
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        for b in resolved.values():
            try:
                await b.aclose()
            except Exception:
                log.exception("closing backend %s failed", getattr(b, "name", b))


def run_server(backends: Mapping[str, Backend | str], host: str = "127.0.0.1", port: int = 8000,
               api_keys: Sequence[str] = (), limits: ServerLimits | None = None) -> None:
    """Blocking entry point for the CLI; Ctrl-C stops it cleanly."""
    try:
        asyncio.run(serve(backends, host, port, api_keys, limits))
    except KeyboardInterrupt:
        pass
