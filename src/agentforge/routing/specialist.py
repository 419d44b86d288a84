"""Specialists: a base model made into a specialist by a system prompt and sampling overrides.

Until trained specialist models exist, the specialists a router chooses from
can be variants of one base model: "always call a tool, grammar-constrained",
"answer in prose unless a call is clearly needed", "exactly one call", a
system prompt that insists on exact argument values, and so on. A real
specialist model is the same thing with no overrides and its own backend.

What a specialist overrides, and what the client keeps:
- `system_prompt` goes in front of the conversation (joined to the client's
  own system message when there is one, so the client's instructions stay);
- `tool_choice` replaces the client's "auto"/"required"/unset when the request
  has tools, but never a client's "none" or named function (hard constraints
  of the caller: a client that forbids calls or needs one function gets that);
- temperature, top_p, max_tokens and engine options (`constrained`,
  `parallel_tool_calls`, `extra_body`) replace the client's values.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from agentforge.runtime.backends.base import Backend, StreamEvent
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec


class SpecialistSpec(BaseModel):
    """One specialist as declared in a router file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    # a backend spec for make_backend (e.g. "embedded:int8", "openai:m@http://..."), the name of a
    # backend the server already has, or MODEL@best-of-N:SELECTOR of either
    model: str = Field(min_length=1)
    description: str = ""  # what it is good at: the LLM meta-agent reads this
    system_prompt: str | None = None
    tool_choice: Literal["auto", "required", "none"] | None = None
    constrained: bool | None = None  # grammar-constrained tool calls (embedded backend)
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    extra_body: dict[str, Any] = Field(default_factory=dict)

    def engine_options(self) -> dict[str, Any]:
        options = dict(self.extra_body)
        if self.constrained is not None:
            options["constrained"] = self.constrained
        if self.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = self.parallel_tool_calls
        return options


def with_system_prompt(messages: Sequence[Message], prompt: str | None) -> list[Message]:
    messages = list(messages)
    if not prompt:
        return messages
    if messages and messages[0].role == "system":
        joined = f"{prompt}\n\n{messages[0].content}" if messages[0].content else prompt
        return [messages[0].model_copy(update={"content": joined}), *messages[1:]]
    return [Message.system(prompt), *messages]


def specialized_sampling(spec: SpecialistSpec, sampling: Sampling | None, has_tools: bool) -> Sampling:
    sampling = sampling or Sampling()
    client_choice = sampling.tool_choice
    choice = client_choice
    if has_tools and spec.tool_choice is not None and not (client_choice == "none" or isinstance(client_choice, dict)):
        choice = spec.tool_choice
    extra = {**sampling.extra_body, **spec.engine_options()}
    return sampling.model_copy(update={
        "tool_choice": choice,
        "temperature": sampling.temperature if spec.temperature is None else spec.temperature,
        "top_p": sampling.top_p if spec.top_p is None else spec.top_p,
        "max_tokens": sampling.max_tokens if spec.max_tokens is None else spec.max_tokens,
        "extra_body": extra,
    })


class Specialist:
    """A Backend: `base` with the spec's system prompt and sampling overrides."""

    def __init__(self, spec: SpecialistSpec, base: Backend):
        self.spec, self.base, self.name = spec, base, spec.name

    def prepare(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None,
                sampling: Sampling | None) -> tuple[list[Message], Sampling]:
        """The request as the base model receives it."""
        return with_system_prompt(messages, self.spec.system_prompt), specialized_sampling(self.spec, sampling,
                                                                                           bool(tools))

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        messages, sampling = self.prepare(messages, tools, sampling)
        return await self.base.complete(messages, tools, n, sampling)

    async def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                     sampling: Sampling | None = None) -> AsyncIterator[StreamEvent]:
        messages, sampling = self.prepare(messages, tools, sampling)
        async for event in self.base.stream(messages, tools, n, sampling):
            yield event

    async def aclose(self) -> None:
        return None  # the base backend belongs to whoever made it (it may be shared by several specialists)
