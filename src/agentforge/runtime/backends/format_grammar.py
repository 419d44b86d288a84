"""The grammar the embedded engine decodes a `response_format` under (the
shapes and their rules with tools: runtime/response_format.py)."""

from __future__ import annotations

from typing import Any, Sequence

from agentforge.runtime.backends.tool_grammar import schema_rule, tool_call_lark
from agentforge.runtime.messages import ToolSpec
from agentforge.runtime.response_format import conflict, schema_of


def format_lark(response_format: dict[str, Any], tools: Sequence[ToolSpec] | None = None,
                tool_choice: Any = None, parallel: bool = True) -> tuple[str, list[str]]:
    """The Lark grammar of a turn under `response_format` (plus any tool calls the
    turn may make instead) and its schema warnings. ValueError when the format
    cannot be honoured: it conflicts with tool_choice, or a strict schema does not compile."""
    problem = conflict(response_format, tool_choice)
    if problem:
        raise ValueError(problem)
    schema, strict = schema_of(response_format)
    rule, warning = schema_rule(schema, "response_format schema", loosen=not strict)
    warnings = [warning] if warning else []
    if tools and tool_choice != "none":
        lark, tool_warnings = tool_call_lark(tools, "", parallel, answer_rule=rule)
        return lark, warnings + tool_warnings
    return f"start: answer\nanswer: {rule}\n", warnings
