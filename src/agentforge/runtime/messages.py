"""The chat data model: messages, tool calls and sampled completions.

Mirrors the OpenAI chat schema so requests and responses pass through the
server and the `openai` backend unchanged. A `Completion` additionally keeps
what test-time scaling and RL need: the token ids the model actually produced
and their log-probabilities with top-k alternatives.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "cancelled", "error"]


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


class FunctionCall(BaseModel):
    name: str
    arguments: str = "{}"  # a JSON object serialized as text, as in the OpenAI API


class ToolCall(BaseModel):
    id: str = Field(default_factory=new_call_id)
    type: Literal["function"] = "function"
    function: FunctionCall

    @classmethod
    def make(cls, name: str, arguments: dict[str, Any], id: str | None = None) -> "ToolCall":
        call = FunctionCall(name=name, arguments=json.dumps(arguments, ensure_ascii=False))
        return cls(function=call) if id is None else cls(id=id, function=call)

    @property
    def name(self) -> str:
        return self.function.name

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON; raises ValueError when they are not JSON."""
        return json.loads(self.function.arguments or "{}")


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    reasoning: str | None = None  # thinking text, kept apart from the answer

    @classmethod
    def system(cls, content: str) -> "Message":
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> "Message":
        return cls(role="user", content=content)

    @classmethod
    def tool(cls, content: str, tool_call_id: str | None, name: str | None = None) -> "Message":
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)

    def to_openai(self) -> dict[str, Any]:
        """The dict the OpenAI API expects (None fields dropped)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


class FunctionSpec(BaseModel):
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolSpec(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionSpec

    @property
    def name(self) -> str:
        return self.function.name


class TopLogprob(BaseModel):
    token: str
    logprob: float
    token_id: int | None = None


class TokenLogprob(BaseModel):
    """One generated token with its log-probability and the top-k alternatives.

    Log-probabilities are those of the model's own distribution (before
    temperature / top-p), which is what confidence measures are defined on.
    """

    token: str
    logprob: float
    token_id: int | None = None
    top: list[TopLogprob] = Field(default_factory=list)


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Completion(BaseModel):
    """One sampled assistant turn."""

    text: str  # the raw generated text, tool-call markup included
    content: str | None = None  # the text shown to a user: tool-call markup removed
    reasoning: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    parse_errors: list[str] = Field(default_factory=list)  # malformed tool calls, fed back to the model
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    token_ids: list[int] | None = None  # exactly as generated; never re-tokenized
    # The prompt exactly as the engine read it, for RL (which trains on these ids); filled on request
    # (extra_body {"return_token_ids": true}, vLLM's name). Not saved with trajectories: a long
    # episode would store its whole context once per step.
    prompt_token_ids: list[int] | None = Field(default=None, exclude=True)
    logprobs: list[TokenLogprob] | None = None
    model: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # how it was made, e.g. a best-of-N selection

    def message(self) -> Message:
        """The assistant message this completion adds to the conversation."""
        return Message(
            role="assistant",
            content=self.content,
            tool_calls=self.tool_calls or None,
            reasoning=self.reasoning,
        )


class Sampling(BaseModel):
    """Sampling options shared by every backend (OpenAI names)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    max_tokens: int = 512
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    logprobs: bool = False
    top_logprobs: int = 0
    tool_choice: str | dict[str, Any] | None = None  # "auto" | "none" | "required" | {"type":"function",...}
    response_format: dict[str, Any] | None = None  # OpenAI's json_object / json_schema shapes; None = text
    extra_body: dict[str, Any] = Field(default_factory=dict)  # engine-specific options

    def merged(self, **changes: Any) -> "Sampling":
        return self.model_copy(update={k: v for k, v in changes.items() if v is not None})
