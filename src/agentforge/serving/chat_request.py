"""The chat.completions request: its model, the checks that go beyond the schema,
and reading it from an HTTP body without blocking the event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentforge.serving.api_errors import TIMEOUTS, ApiError, validation_error
from agentforge.serving.limits import ServerLimits
from agentforge.runtime.messages import Message, Sampling, ToolCall, ToolSpec
from agentforge.runtime.response_format import ACCEPTED, ResponseFormat, check_shape, conflict, wire_format

MAX_SEED = 2**63 - 1
# How deeply objects and arrays may nest in a tool's parameters schema: chat templates
# render it recursively, and ~450 levels overflowed Python's stack (a 500, not a 400).
MAX_SCHEMA_DEPTH = 128
PARSE_OFF_LOOP_BYTES = 64 * 1024  # bodies larger than this are parsed in a worker thread

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
    response_format: ResponseFormat | None = None  # see response_format.py

    @field_validator("response_format", mode="before")
    @classmethod
    def _known_format(cls, v: Any) -> Any:
        return check_shape(v)  # an unknown type gets a message listing the accepted ones

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, v: list[ToolSpec] | None) -> list[ToolSpec] | None:
        for t in v or []:
            if not t.function.name.strip():
                raise ValueError("every tool needs a non-empty function name")
            depth = nesting_depth(t.function.parameters)
            if depth > MAX_SCHEMA_DEPTH:
                raise ValueError(f"the parameters schema of tool {t.function.name[:64]!r} nests objects and arrays "
                                 f"{depth} levels deep; at most {MAX_SCHEMA_DEPTH} are supported: flatten it")
        return v

    @field_validator("response_format")
    @classmethod
    def _schema_depth(cls, v: Any) -> Any:
        schema = getattr(getattr(v, "json_schema", None), "json_schema", None)
        depth = nesting_depth(schema)
        if depth > MAX_SCHEMA_DEPTH:  # the grammar is built recursively from it, like a tool's parameters
            raise ValueError(f"the schema nests objects and arrays {depth} levels deep; at most {MAX_SCHEMA_DEPTH} "
                             "are supported: flatten it")
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
            response_format=wire_format(self.response_format),
            extra_body=self._engine_options() or None,
        )

    def _engine_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"return_token_ids": True} if self.return_token_ids else {}
        if self.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = self.parallel_tool_calls
        if self.constrained is not None:
            options["constrained"] = self.constrained
        return options


def nesting_depth(value: Any) -> int:
    """How deeply lists and dicts nest in `value` (a scalar: 0), without recursing."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            todo.extend((c, depth + 1) for c in children)
    return deepest


def check_limits(req: ChatRequest, limits: ServerLimits) -> None:
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
    choice = req.tool_choice.model_dump() if isinstance(req.tool_choice, BaseModel) else req.tool_choice
    problem = conflict(wire_format(req.response_format), choice)
    if problem:
        raise ApiError(400, problem, param="response_format", code="invalid_value")
    problem = tool_message_problem(req.messages)
    if problem:
        raise ApiError(400, problem[1], param=f"messages.{problem[0]}", code="invalid_value")


def tool_message_problem(messages: list[InMessage]) -> tuple[int, str] | None:
    """(index, message) for the first tool message that has no tool_call_id or answers
    no call of an earlier assistant message; None when every one answers a call."""
    calls: set[str] = set()
    for i, m in enumerate(messages):
        if m.role == "assistant":
            calls.update(c.id for c in m.tool_calls or [])
        elif m.role == "tool":
            if not m.tool_call_id:
                return i, (f"messages[{i}] is a tool message without tool_call_id; set it to the id of the "
                           "assistant tool call it answers")
            if m.tool_call_id not in calls:
                return i, (f"messages[{i}] answers tool_call_id {m.tool_call_id[:64]!r}, which no earlier "
                           "assistant message called; a tool message must follow the assistant message with that "
                           "tool call")
    return None


async def read_request(request: web.Request, limits: ServerLimits) -> ChatRequest:
    ctype = request.headers.get("Content-Type", "")
    if ctype and not (request.content_type == "application/json" or request.content_type.endswith("+json")):
        raise ApiError(400, f"Content-Type must be application/json, not {request.content_type!r}",
                       code="invalid_content_type")
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise ApiError(413, f"The request body is larger than {limits.max_body_bytes} bytes", code="request_too_large")
    try:  # aiohttp enforces client_max_size (413) for chunked bodies; a trickled body must not hold the connection
        raw = await asyncio.wait_for(request.read(), limits.body_timeout)
    except TIMEOUTS:
        raise ApiError(408, f"The request body did not arrive within {limits.body_timeout:g} s",
                       code="request_timeout") from None
    if len(raw) > PARSE_OFF_LOOP_BYTES:  # megabytes of JSON take the loop away from /health and other clients
        req = await asyncio.to_thread(parse_request, raw)
    else:
        req = parse_request(raw)
    check_limits(req, limits)
    return req


def parse_request(raw: bytes) -> ChatRequest:
    try:
        data = json.loads(raw)
        # Lone surrogates survive json.loads but break every upstream: reject them here.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object", code="invalid_json")
    try:
        return ChatRequest.model_validate(data, strict=True)
    except ValidationError as exc:
        error = validation_error(exc)
        if (error.param or "").startswith("response_format.json_schema"):  # a malformed one: show the shape
            error.message += f"; accepted: {ACCEPTED}"
        raise error from None
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply", code="invalid_value") from None
