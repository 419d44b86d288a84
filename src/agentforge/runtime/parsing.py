"""Parse tool calls out of generated text, and render them back as text.

Two formats:
- Hermes / Qwen3: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks,
  the native format of Qwen-family models.
- Pythonic (BFCL prompt mode): `[func_a(x=1, y="s"), mod.func_b(z=[1, 2])]`.

Models get these formats wrong in small, predictable ways (a missing closing
tag, single quotes, a code fence, a trailing comma). The parsers accept those
mistakes; anything else becomes a `ToolCallParseError` whose message can be fed
back to the model. The parsers never raise: a parse failure must not crash an
agent loop or a benchmark run.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from agentforge.runtime.literals import (
    NotLiteral,
    drop_trailing_commas,
    literal_value,
    parse_expression,
    python_literal,
    scan_balanced,
    source_snippet,
)
from agentforge.runtime.messages import FunctionCall, ToolCall

__all__ = [
    "ParsedTurn",
    "ToolCallParseError",
    "parse_hermes",
    "parse_pythonic",
    "render_hermes_call",
    "render_pythonic_calls",
    "split_reasoning",
]

SNIPPET_CHARS = 200
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

HERMES_FORMAT = (
    "Write each tool call as <tool_call>\n"
    '{"name": "function_name", "arguments": {"param": "value"}}\n'
    "</tool_call> with one JSON object inside the tags."
)
PYTHONIC_FORMAT = (
    "Write the calls as a Python list of function calls with keyword arguments "
    'and literal values, e.g. [func_a(x=1, y="text"), func_b(z=[1, 2])].'
)

# Bound the work spent hunting for calls in long prose (each candidate costs a scan and a parse).
_MAX_CANDIDATES = 50


@dataclass
class ToolCallParseError:
    message: str  # what was wrong and what the right format is; meant for the model
    snippet: str  # the offending text, truncated

    def __str__(self) -> str:
        return f"{self.message}\nOffending text: {self.snippet}"


@dataclass
class ParsedTurn:
    content: str | None = None  # the text without tool-call markup and reasoning
    tool_calls: list[ToolCall] = field(default_factory=list)
    errors: list[ToolCallParseError] = field(default_factory=list)
    reasoning: str | None = None  # the text inside <think>...</think>


def _error(message: str, snippet: str, hint: str) -> ToolCallParseError:
    snippet = snippet.strip()
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS] + "..."
    return ToolCallParseError(message=f"{message} {hint}", snippet=snippet)


def _make_call(name: str, arguments: dict[str, Any]) -> ToolCall:
    try:
        text = json.dumps(arguments, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError(f"the arguments of {name} contain NaN or Infinity, which JSON does not allow.") from None
    return ToolCall(function=FunctionCall(name=name, arguments=text))


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


_EMPTY_FENCE = re.compile(r"```[\w+-]*\s*```")


def _content(pieces: Iterable[str]) -> str | None:
    # Removing a fenced call leaves an empty fence behind; it means nothing to a reader.
    text = _EMPTY_FENCE.sub("", "".join(pieces)).strip()
    return text or None


# ---------------------------------------------------------------------------- reasoning


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split `<think>...</think>` reasoning from the rest of a turn: (reasoning, rest).

    Only a leading think block counts, or a `</think>` with no opening tag before it:
    Qwen3's chat template opens `<think>` in the prompt, so the completion may start
    inside the thought. An unclosed leading `<think>` (cut off by max_tokens) makes
    the whole turn reasoning.
    """
    close = text.find(THINK_CLOSE)
    opening = text.find(THINK_OPEN)
    if close != -1 and (opening == -1 or close < opening):
        reasoning, rest = text[:close], text[close + len(THINK_CLOSE) :]
    elif text.lstrip().startswith(THINK_OPEN):
        start = opening + len(THINK_OPEN)
        if close == -1:
            reasoning, rest = text[start:], ""
        else:
            reasoning, rest = text[start:close], text[close + len(THINK_CLOSE) :]
    else:
        return None, text
    return reasoning.strip() or None, rest


# ---------------------------------------------------------------------------- Hermes

_JSON = json.JSONDecoder()


def _decode_value(text: str, start: int, limit: int) -> tuple[Any, int]:
    """Decode the JSON (or Python-literal) value starting at text[start]: (value, end index).

    Raises ValueError with a reason a model can act on.
    """
    try:
        # Strict JSON over the whole rest of the text, so a "</tool_call>" inside a string is fine.
        return _JSON.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON: {exc.msg} at character {exc.pos - start}"
    except RecursionError:
        reason = "the JSON is nested too deeply"
    end = scan_balanced(text, start, limit)
    if end is None:
        raise ValueError(f"the JSON {'object' if text[start] == '{' else 'list'} is never closed ({reason}).")
    candidate = text[start:end]
    for decode in (lambda s: json.loads(drop_trailing_commas(s)), python_literal):
        try:
            return decode(candidate), end
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    raise ValueError(reason + ".")


def _decode_arguments_string(name: str, text: str) -> Any:
    """`"arguments": "{\\"x\\": 1}"`: arguments sent as a JSON string instead of an object."""
    text = text.strip()
    if not text:
        return {}
    for decode in (json.loads, lambda s: json.loads(drop_trailing_commas(s)), python_literal):
        try:
            return decode(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    raise ValueError(f'the "arguments" of {name} are a string that does not hold a JSON object.')


def _call_from_object(obj: Any) -> ToolCall:
    if not isinstance(obj, dict):
        raise ValueError(f'expected a JSON object with "name" and "arguments", got {_kind(obj)}.')
    if isinstance(obj.get("function"), dict):  # OpenAI style: {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError('the "name" of the function is missing or is not a non-empty string.')
    name = name.strip()
    arguments = obj["arguments"] if "arguments" in obj else obj.get("parameters")
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        arguments = _decode_arguments_string(name, arguments)
    if not isinstance(arguments, dict):
        raise ValueError(f'the "arguments" of {name} must be a JSON object, got {_kind(arguments)}.')
    return _make_call(name, arguments)


def _parse_hermes_block(text: str, start: int, turn: ParsedTurn) -> int:
    """Parse the block opened at text[start] into `turn`; return where the block ends."""
    inner = start + len(TOOL_CALL_OPEN)
    # Without parsing, the body ends at the first closing tag, or at the next opening
    # one (a missing closing tag), or at the end of the text.
    ends = (text.find(TOOL_CALL_OPEN, inner), text.find(TOOL_CALL_CLOSE, inner), len(text))
    limit = min(i for i in ends if i != -1)

    def block_end(after: int) -> int:  # past this block's closing tag, or `after` if it has none
        close, next_open = text.find(TOOL_CALL_CLOSE, after), text.find(TOOL_CALL_OPEN, after)
        if close != -1 and (next_open == -1 or close < next_open):
            return close + len(TOOL_CALL_CLOSE)
        return after

    # Skip prose and code fences before the JSON: it starts at the first bracket.
    brackets = [i for i in (text.find("{", inner, limit), text.find("[", inner, limit)) if i != -1]
    if not brackets:
        end = block_end(limit)
        empty = not text[inner:limit].strip()
        reason = "The <tool_call> block is empty." if empty else "The <tool_call> block holds no JSON object."
        turn.errors.append(_error(reason, text[start:end], HERMES_FORMAT))
        return end
    try:
        value, value_end = _decode_value(text, min(brackets), limit)
    except ValueError as exc:
        end = block_end(limit)
        turn.errors.append(_error(f"Could not parse the tool call: {exc}", text[start:end], HERMES_FORMAT))
        return end
    end = block_end(value_end)  # text after the JSON inside the block is dropped
    items = value if isinstance(value, list) else [value]  # a list of calls in one block
    if not items:
        turn.errors.append(_error("The <tool_call> block holds an empty list.", text[start:end], HERMES_FORMAT))
    for item in items:
        try:
            turn.tool_calls.append(_call_from_object(item))
        except ValueError as exc:
            turn.errors.append(_error(f"Invalid tool call: {exc}", text[start:end], HERMES_FORMAT))
    return end


def _parse_guarded(text: str, parse_body: Callable[[str], ParsedTurn], fmt: str) -> ParsedTurn:
    try:
        return _with_reasoning(text, parse_body)
    except Exception as exc:  # a last guard: a parser bug must not crash an agent loop or a benchmark run
        error = _error(f"Could not parse the turn ({exc!r}).", text, fmt)
        return ParsedTurn(content=text.strip() or None, errors=[error])


def _with_reasoning(text: str, parse_body: Callable[[str], ParsedTurn]) -> ParsedTurn:
    reasoning, body = split_reasoning(text)
    turn = parse_body(body)
    turn.reasoning = reasoning
    if reasoning is not None and not text.lstrip().startswith(THINK_OPEN):
        # An orphan "</think>" may be data inside a call's arguments rather than the end of
        # a thought: keep the whole text as calls when that parses cleanly.
        plain = parse_body(text)
        if plain.tool_calls and not plain.errors and THINK_CLOSE not in (plain.content or ""):
            return plain
    return turn


def _parse_hermes_body(body: str) -> ParsedTurn:
    turn = ParsedTurn()
    pieces: list[str] = []
    pos = 0
    while (start := body.find(TOOL_CALL_OPEN, pos)) != -1:
        pieces.append(body[pos:start])
        pos = _parse_hermes_block(body, start, turn)
    pieces.append(body[pos:])
    rest = "".join(pieces)
    # A closing tag with no opening one: the model most likely dropped "<tool_call>".
    stray = rest.find(TOOL_CALL_CLOSE)
    if stray != -1:
        snippet = rest[max(0, stray - SNIPPET_CHARS + len(TOOL_CALL_CLOSE)) : stray + len(TOOL_CALL_CLOSE)]
        turn.errors.append(_error("Found </tool_call> without a matching <tool_call>.", snippet, HERMES_FORMAT))
        rest = rest.replace(TOOL_CALL_CLOSE, "")
    turn.content = _content([rest])
    return turn


def parse_hermes(text: str) -> ParsedTurn:
    """Parse Hermes/Qwen3 `<tool_call>` blocks out of a generated turn. Never raises."""
    return _parse_guarded(text, _parse_hermes_body, HERMES_FORMAT)


def render_hermes_call(call: ToolCall) -> str:
    """The canonical Hermes text of one call, as a Qwen chat template renders it."""
    try:
        arguments = call.parsed_arguments()
    except ValueError:  # keep what the model sent rather than fail on history rendering
        arguments = call.function.arguments
    body = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


# ---------------------------------------------------------------------------- pythonic

_CALL_START = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")  # `name(` with no space: prose rarely looks like that
_LIST_OF_CALLS = re.compile(r"\[\s*[A-Za-z_][\w.]*\s*\(")


def _dotted_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _try_expression(text: str) -> ast.expr | None:
    try:
        return parse_expression(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parse_statements(text: str) -> list[ast.stmt] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text.strip()).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _list_attempt_error(body: str) -> str | None:
    """Why something that looks like `[f(...` is not a parsable list of calls; None if absent."""
    attempt = _LIST_OF_CALLS.search(body)
    if attempt is None:
        return None
    end = scan_balanced(body, attempt.start(), len(body))
    if end is None:
        return "the list of calls is never closed with `]`."
    try:
        parse_expression(body[attempt.start() : end])
    except SyntaxError as exc:
        return f"invalid syntax ({exc.msg})."
    except (ValueError, RecursionError, MemoryError):
        pass
    return "the list of calls could not be parsed."


def _find_python_calls(body: str) -> tuple[int, int, list[ast.expr]] | str | None:
    """Locate the calls in `body`: (start, end, call nodes), an error reason, or None for prose."""
    whole = _try_expression(body)
    if isinstance(whole, ast.List):  # the whole answer is a list: take it, even if wrong
        return 0, len(body), list(whole.elts)
    if isinstance(whole, ast.Tuple) and any(isinstance(e, ast.Call) for e in whole.elts):
        return 0, len(body), list(whole.elts)  # `f(a=1), g(b=2)`
    # Calls without brackets must start with `name(` (no space: "see (above)" is prose).
    if _CALL_START.match(body.lstrip()):
        if isinstance(whole, ast.Call):
            return 0, len(body), [whole]
        statements = _parse_statements(body)  # one call per line
        if statements and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) for s in statements):
            return 0, len(body), [s.value for s in statements]  # type: ignore[attr-defined]
    # A list of calls inside prose or a code fence.
    for start in [m.start() for m in re.finditer(r"\[", body)][:_MAX_CANDIDATES]:
        end = scan_balanced(body, start, len(body))
        node = None if end is None else _try_expression(body[start:end])
        if isinstance(node, ast.List) and any(isinstance(e, ast.Call) for e in node.elts):
            return start, end, list(node.elts)  # type: ignore[return-value]
    # A broken list of calls (e.g. cut off by max_tokens) is an error, not a hunt for calls in it.
    reason = _list_attempt_error(body)
    if reason:
        return reason
    # A single call inside prose.
    for match in list(_CALL_START.finditer(body))[:_MAX_CANDIDATES]:
        end = scan_balanced(body, match.end() - 1, len(body))
        node = None if end is None else _try_expression(body[match.start() : end])
        if isinstance(node, ast.Call) and _dotted_name(node.func):
            return match.start(), end, [node]  # type: ignore[return-value]
    return None


def _call_from_node(node: ast.expr) -> ToolCall:
    if not isinstance(node, ast.Call):
        raise ValueError(f"`{source_snippet(node)}` is not a function call.")
    name = _dotted_name(node.func)
    if name is None:
        raise ValueError(f"`{source_snippet(node.func)}` is not a function name.")
    if node.args:
        raise ValueError(
            f"{name} was given positional arguments; pass every argument by keyword, as in {name}(param=value)."
        )
    arguments: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"{name} uses ** unpacking; pass every argument by keyword.")
        if keyword.arg in arguments:
            raise ValueError(f"{name} was given the argument {keyword.arg} twice.")
        try:
            arguments[keyword.arg] = literal_value(keyword.value)
        except NotLiteral as exc:
            raise ValueError(f"argument {keyword.arg} of {name}: {exc}; only literal values are allowed.") from None
    return _make_call(name, arguments)


def _parse_pythonic_body(body: str) -> ParsedTurn:
    turn = ParsedTurn()
    found = _find_python_calls(body)
    if found is None:
        turn.content = _content([body])
        return turn
    if isinstance(found, str):
        turn.content = _content([body])
        turn.errors.append(_error(f"Could not parse the function calls: {found}", body, PYTHONIC_FORMAT))
        return turn
    start, end, nodes = found
    source = body[start:end]
    for node in nodes:
        try:
            turn.tool_calls.append(_call_from_node(node))
        except (ValueError, RecursionError) as exc:
            snippet = ast.get_source_segment(source.strip(), node) or source_snippet(node)
            turn.errors.append(_error(f"Invalid function call: {exc}", snippet, PYTHONIC_FORMAT))
    turn.content = _content([body[:start], body[end:]])
    return turn


def parse_pythonic(text: str) -> ParsedTurn:
    """Parse BFCL-style `[f(a=1), g(b="x")]` calls out of a generated turn. Never raises."""
    return _parse_guarded(text, _parse_pythonic_body, PYTHONIC_FORMAT)


def render_pythonic_calls(calls: Iterable[ToolCall]) -> str:
    """`[f(a=1, b='x')]`: Python `repr` of JSON values is a valid Python literal."""
    rendered = []
    for call in calls:
        try:
            arguments = call.parsed_arguments()
        except ValueError:
            arguments = {}
        if not isinstance(arguments, dict):
            arguments = {}
        rendered.append(f"{call.name}(" + ", ".join(f"{k}={v!r}" for k, v in arguments.items()) + ")")
    return "[" + ", ".join(rendered) + "]"
