"""Turning a conversation into the prompt text a local model sees.

SmolLM2's own chat template is plain ChatML and ignores `tools`. We replace it
(in the cached checkpoint) with a ChatML template that renders tools, tool
calls and tool results the Hermes / Qwen way, so the same prompt comes out of
our embedded engine, of vLLM given that checkpoint, and of `transformers
serve`. Models with their own tool-aware template (Qwen3...) keep theirs.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from agentforge.runtime.messages import Message, ToolSpec

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# Tools go into the system turn; assistant tool calls become <tool_call> blocks;
# consecutive tool results are grouped into one user turn of <tool_response>s.
_TOOLS_HEADER = (
    "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>"
)
_TOOLS_FOOTER = (
    "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\\n<tool_call>\\n"
    '{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call>'
)
# Every literal is emitted by an expression and every tag trims whitespace, so
# the output does not depend on the renderer's trim_blocks/lstrip_blocks.
CHAT_TEMPLATE = (
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set system = messages[0].content -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}"
    "{%- set system = '" + DEFAULT_SYSTEM + "' -%}{%- set turns = messages -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>system\\n' + system -}}"
    "{%- if tools -%}"
    '{{- "' + _TOOLS_HEADER + '" -}}'
    "{%- for tool in tools -%}{{- '\\n' + (tool | tojson) -}}{%- endfor -%}"
    '{{- "' + _TOOLS_FOOTER + '" -}}'
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- for m in turns -%}"
    "{%- if m.role == 'tool' -%}"
    "{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}"
    "{{- '\\n<tool_response>\\n' + m.content + '\\n</tool_response>' -}}"
    "{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<|im_end|>\\n' -}}{%- endif -%}"
    "{%- else -%}"
    "{{- '<|im_start|>' + m.role + '\\n' + (m.content if m.content else '') -}}"
    "{%- if m.role == 'assistant' and m.tool_calls -%}"
    "{%- for call in m.tool_calls -%}"
    "{%- set f = call.function if call.function is defined else call -%}"
    "{%- if m.content or not loop.first -%}{{- '\\n' -}}{%- endif -%}"
    "{%- set args = f.arguments if f.arguments is string else (f.arguments | tojson) -%}"
    "{{- '<tool_call>\\n{\"name\": \"' + f.name + '\", \"arguments\": ' + args + '}\\n</tool_call>' -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def template_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as the dicts Hugging Face chat templates expect (tool-call
    arguments as objects, not JSON strings)."""
    out = []
    for m in messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content or ""}
        if m.tool_calls:
            d["tool_calls"] = [
                {"type": "function", "id": c.id, "function": {"name": c.name, "arguments": _arguments(c.function.arguments)}}
                for c in m.tool_calls
            ]
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        if m.name:
            d["name"] = m.name
        out.append(d)
    return out


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # rendered verbatim: the model sees what it wrote


def render_prompt(tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None) -> str:
    tool_dicts = [t.model_dump() for t in tools] if tools else None
    return tokenizer.apply_chat_template(
        template_messages(messages), tools=tool_dicts, add_generation_prompt=True, tokenize=False
    )
