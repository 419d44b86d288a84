"""Literal values as models write them: JSON and Python spellings mixed, trailing
commas, brackets inside strings. Used by the tool-call parsers (parsing.py).
"""

from __future__ import annotations

import ast
import warnings
from typing import Any


def scan_balanced(text: str, start: int, end: int) -> int | None:
    """The index just past the bracket closing the one at text[start], or None if unclosed.

    Skips quoted strings (single or double quotes) so brackets inside them don't count.
    """
    depth = 0
    quote = ""
    i = start
    while i < end:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def drop_trailing_commas(text: str) -> str:
    """`{"a": 1,}` -> `{"a": 1}`, leaving commas inside strings alone."""
    out: list[str] = []
    quote = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == ",":
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] in "}]":
                i = j
                continue
        out.append(c)
        i += 1
    return "".join(out)


class NotLiteral(ValueError):
    pass


# Models mix JSON and Python spellings; both mean the same value.
NAMED_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def source_snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:60] + "..."


def literal_value(node: ast.AST) -> Any:
    """The JSON-compatible value of a literal expression; raises NotLiteral otherwise."""
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (str, bool, int, float)):
            return node.value
    elif isinstance(node, ast.Name) and node.id in NAMED_CONSTANTS:
        return NAMED_CONSTANTS[node.id]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = literal_value(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    elif isinstance(node, (ast.List, ast.Tuple)):
        return [literal_value(e) for e in node.elts]
    elif isinstance(node, ast.Dict):
        out = {}
        for key_node, value_node in zip(node.keys, node.values):
            key = None if key_node is None else literal_value(key_node)
            if not isinstance(key, str):
                raise NotLiteral(f"dictionary keys must be strings (in `{source_snippet(node)}`)")
            out[key] = literal_value(value_node)
        return out
    raise NotLiteral(f"`{source_snippet(node)}` is not a literal value")


def parse_expression(text: str) -> ast.expr:
    with warnings.catch_warnings():  # invalid escapes like "\d" warn; they are still valid input
        warnings.simplefilter("ignore")
        return ast.parse(text.strip(), mode="eval").body


def python_literal(text: str) -> Any:
    return literal_value(parse_expression(text))
