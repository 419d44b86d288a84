"""Features of one chat request (messages + tools), the input of every routing policy.

Cheap and deterministic on purpose: a router runs them on every agent step, in
front of the model call, so they are plain text statistics (no model, no
randomness, no dependency on the order of dict keys). Each value is a float;
`FEATURES` documents them in the order learned policies store their weights.

"The user text" is the content of the last user message. "Tool words" are the
lower-cased words of a tool's name (split at `_`, `.`, `-` and camelCase), its
description and its parameter names. Words of one or two characters and a few
function words are ignored when measuring overlap.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from agentforge.runtime.messages import Message, ToolSpec

FEATURES: dict[str, str] = {
    "n_tools": "number of tools offered",
    "n_messages": "number of messages in the conversation",
    "user_turns": "number of user messages",
    "assistant_turns": "number of assistant messages so far (0 on an agent's first step)",
    "last_is_tool": "1 if the last message is a tool result (the agent is mid-task), else 0",
    "has_system": "1 if there is a system message, else 0",
    "user_chars_log": "log(1 + characters of the user text)",
    "total_chars_log": "log(1 + characters of all message contents)",
    "name_overlap": "max over tools: fraction of the tool's name words found in the user text",
    "desc_overlap": "max over tools: fraction of the user text's words found among the tool's words",
    "param_overlap": "max over tools: fraction of the tool's parameter names found in the user text",
    "best_tool_margin": "best minus second-best tool by desc_overlap (0 with fewer than two tools)",
    "required_params": "max over tools: number of required parameters",
    "numbers": "count of numbers in the user text",
    "quoted": "count of quoted strings in the user text",
    "conjunctions": "count of 'and', 'also', 'then', 'respectively', ';' in the user text (cues for several calls)",
    "question": "1 if the user text contains '?', else 0",
    "has_code": "1 if the user text looks like code (fences, backticks, braces, def/class/import/return), else 0",
}

_STOP = frozenset("the a an and or of to in on for with by at from is are be it this that as if get set "
                  "what which who how can you me my please i we do does using use".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'")
_CONJ = re.compile(r"\b(?:and|also|then|respectively)\b|;", re.IGNORECASE)
_CODE = re.compile(r"```|`[^`\n]+`|[{};]\s*$|^\s*(?:def|class|import|return|function|public|var|let|const)\b",
                   re.MULTILINE)


def words(text: str) -> list[str]:
    """Lower-cased words; identifiers are split at camelCase as well as at _ . -"""
    out = []
    for token in _WORD.findall(_CAMEL.sub(" ", text or "")):
        out.append(token.lower())
    return out


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 2 and w not in _STOP}


def _user_text(messages: Sequence[Message]) -> str:
    return next((m.content or "" for m in reversed(messages) if m.role == "user"), "")


def _tool_parts(tool: ToolSpec) -> tuple[set[str], set[str], set[str], int]:
    """(name words, all tool words, parameter names as word sets flattened, required count)."""
    fn = tool.function
    params = fn.parameters if isinstance(fn.parameters, dict) else {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    prop_words: set[str] = set()
    for key in props:
        prop_words |= content_words(key)
    names = content_words(fn.name) or set(words(fn.name))
    required = params.get("required") if isinstance(params.get("required"), list) else []
    return names, names | content_words(fn.description or "") | prop_words, {str(k) for k in props}, len(required)


def _fraction(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def request_features(messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None) -> dict[str, float]:
    """The FEATURES of one request, in FEATURES order."""
    tools = list(tools or [])
    user = _user_text(messages)
    user_words = content_words(user)
    user_lower = user.lower()
    name_overlap = param_overlap = 0.0
    required = 0
    desc: list[float] = []
    for tool in tools:
        names, tool_words, params, n_required = _tool_parts(tool)
        name_overlap = max(name_overlap, _fraction(names, user_words))
        desc.append(_fraction(user_words, tool_words))
        if params:
            found = sum(1 for p in params if (content_words(p) and content_words(p) <= user_words)
                        or p.lower() in user_lower)
            param_overlap = max(param_overlap, found / len(params))
        required = max(required, n_required)
    desc.sort(reverse=True)
    values: dict[str, Any] = {
        "n_tools": len(tools),
        "n_messages": len(messages),
        "user_turns": sum(m.role == "user" for m in messages),
        "assistant_turns": sum(m.role == "assistant" for m in messages),
        "last_is_tool": bool(messages) and messages[-1].role == "tool",
        "has_system": any(m.role == "system" for m in messages),
        "user_chars_log": math.log1p(len(user)),
        "total_chars_log": math.log1p(sum(len(m.content or "") for m in messages)),
        "name_overlap": name_overlap,
        "desc_overlap": desc[0] if desc else 0.0,
        "best_tool_margin": desc[0] - desc[1] if len(desc) > 1 else 0.0,
        "param_overlap": param_overlap,
        "required_params": required,
        "numbers": len(_NUMBER.findall(user)),
        "quoted": len(_QUOTED.findall(user)),
        "conjunctions": len(_CONJ.findall(user)),
        "question": "?" in user,
        "has_code": bool(_CODE.search(user)),
    }
    return {name: round(float(values[name]), 6) for name in FEATURES}
