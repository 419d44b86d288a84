"""The LLM policy: a meta-agent model asked which specialist should answer.

The meta-agent sees a short digest of the request (the last messages, the
tool names and descriptions) and the specialists' descriptions, and must call
`route(specialist=...)`, where `specialist` is an enum of the names. The call
is forced with a named tool_choice: the embedded backend decodes it under a
grammar built from that schema, and vLLM constrains named tool choices too,
so the answer is always a valid name there. With any other model, or when the
call fails, the policy falls back to its default specialist and says why in
the decision's reason.
"""

from __future__ import annotations

import json
import logging
from typing import Sequence

from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec
from agentforge.routing.policy import Decision, check_names

log = logging.getLogger(__name__)

SYSTEM = ("You are a router. You do not answer the user. You choose which specialist writes the next reply "
          "of the conversation, by calling the function route.")
CLIP = 400  # characters per message in the digest: the meta-agent's prompt stays short
LAST_MESSAGES = 3
MAX_TOOLS = 12


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def route_tool(specialists: Sequence[str]) -> ToolSpec:
    return ToolSpec(function=FunctionSpec(
        name="route", description="Send the conversation to one specialist.",
        parameters={"type": "object", "properties": {"specialist": {"type": "string", "enum": list(specialists)}},
                    "required": ["specialist"]}))


def digest(messages: Sequence[Message], tools: Sequence[ToolSpec] | None, descriptions: dict[str, str]) -> str:
    """The user message the meta-agent gets."""
    lines = ["Conversation (most recent last):"]
    for m in list(messages)[-LAST_MESSAGES:]:
        if m.role == "system":
            continue
        body = m.content or ""
        if m.tool_calls:
            body += " " + " ".join(f"[calls {c.function.name}]" for c in m.tool_calls)
        lines.append(f"- {m.role}: {_clip(body, CLIP)}")
    tools = list(tools or [])
    if tools:
        lines.append(f"Tools the assistant may call ({len(tools)}):")
        lines += [f"- {t.function.name}: {_clip(t.function.description, 100)}" for t in tools[:MAX_TOOLS]]
        if len(tools) > MAX_TOOLS:
            lines.append(f"- ... and {len(tools) - MAX_TOOLS} more")
    else:
        lines.append("No tools are available.")
    lines.append("Specialists:")
    lines += [f"- {name}: {desc or 'no description'}" for name, desc in descriptions.items()]
    lines.append("Which specialist should write the next assistant reply? Call route.")
    return "\n".join(lines)


class MetaAgentPolicy:
    kind = "llm"

    def __init__(self, backend: Backend, descriptions: dict[str, str], default: str, max_tokens: int = 48,
                 system_prompt: str | None = None):
        """`descriptions`: specialist name -> what it is good at, in the router's order."""
        self.specialists = tuple(descriptions)
        check_names([default], self.specialists, "llm policy default")
        self.backend, self.descriptions, self.default = backend, dict(descriptions), default
        self.max_tokens, self.system_prompt = max_tokens, system_prompt or SYSTEM
        self.tool = route_tool(self.specialists)

    def _fallback(self, why: str, **details) -> Decision:
        log.info("llm routing fell back to %s: %s", self.default, why)
        return Decision(self.default, self.kind, f"fell back to the default: {why}", {"fallback": why, **details})

    async def choose(self, messages, tools, features) -> Decision:
        request = [Message.system(self.system_prompt), Message.user(digest(messages, tools, self.descriptions))]
        sampling = Sampling(temperature=0.0, max_tokens=self.max_tokens,
                            tool_choice={"type": "function", "function": {"name": "route"}})
        try:
            [completion] = await self.backend.complete(request, [self.tool], 1, sampling)
        except (BackendError, ValueError) as e:  # ValueError: a backend returning the wrong number of choices
            return self._fallback(f"the meta-agent failed: {e}")
        calls = [c for c in completion.tool_calls if c.function.name == "route"]
        if not calls:
            return self._fallback("the meta-agent did not call route", reply=_clip(completion.text, 200))
        try:
            choice = calls[0].parsed_arguments().get("specialist")
        except (ValueError, AttributeError):
            return self._fallback("route arguments are not a JSON object", reply=calls[0].function.arguments)
        if choice not in self.specialists:
            return self._fallback(f"route named {choice!r}, not a specialist", reply=calls[0].function.arguments)
        return Decision(choice, self.kind, f"the meta-agent chose {choice}",
                        {"meta_model": getattr(self.backend, "name", None), "reply": json.dumps({"specialist": choice})})
