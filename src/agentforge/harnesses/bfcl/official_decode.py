"""Decoding a model's raw text into calls exactly as the official BFCL pipeline
does (bfcl-eval 2025.6.16), so a verdict on our run is the leaderboard's verdict.

Facts of the official pipeline this module reproduces (our own code):

Prompt mode (the Qwen prompting handler: text after the last `</think>`, then
`default_decode_ast_prompting`):
- strip the characters "`", newline and space from both ends; Python then also
  strips "[", "]" and "'" and parses the rest as ONE Python expression: a call,
  or a list/tuple/set whose every element is a call. Prose around the list, a
  fenced block with a language tag, several lines of calls: not decoded.
- a call's positional arguments are dropped; keyword values become: constants,
  lists, dicts, tuples as themselves; `-x` the negated constant (whatever the
  unary operator); a bare name its own text; a call without keywords its
  source text, with keywords a nested `{name: {kwargs}}`; `a[b]` its source
  text; an arithmetic expression its value (see `_evaluate`); anything else
  fails the turn.
- Java and JavaScript are parsed with tree-sitter (the official grammars): only
  the first call counts, and its named values stay the literal's source text
  (string quotes removed), e.g. `'3'` and `true` stay strings.
FC mode (the Qwen FC handler, the Hermes `<tool_call>` format):
- calls are the `<tool_call>\\n...\\n</tool_call>` blocks (newlines required);
  if any block is not JSON for an object the whole turn decodes to `[]` (no
  call); an object without "name" or with non-object "arguments" fails the turn.

Where we differ, on purpose: the official decoder runs arithmetic expressions
with Python's `eval`, i.e. it executes model output. We never run model
output: `_evaluate` computes constant arithmetic itself and fails the turn
when the expression names anything (a builtin such as `abs(-1) + 1` decodes
officially, not here) or would build a huge value.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from functools import lru_cache
from typing import Any


class DecodeError(ValueError):
    """The official decoder would fail on this text (it raised)."""


# ---------------------------------------------------------------------- prompt mode


def after_reasoning(text: str) -> str:
    """What the Qwen handlers keep of a response: the text after the last `</think>`."""
    if "</think>" in text:
        return text.split("</think>")[-1].lstrip("\n")
    return text


def decode_prompt_text(text: str, language: str = "Python") -> Any:
    """The official prompt-mode decoding of a raw response: normally a call list
    `[{name: {param: value}}]`, but whatever the official decoder returns (Java
    and JavaScript give `{}` or None when no call is found). Raises DecodeError
    where the official decoder raises."""
    body = after_reasoning(text).strip("`\n ")
    if language in ("Java", "JavaScript"):
        _parser(language)  # a missing grammar is an install problem, not a decode failure
    try:
        if language == "Python":
            return _decode_python(body.strip("[]'"))
        # Java / JavaScript: the bracketed text's inside (brackets added where missing).
        bracketed = ("" if body.startswith("[") else "[") + body + ("" if body.endswith("]") else "]")
        if language == "Java":
            return _decode_java(bracketed[1:-1])
        if language == "JavaScript":
            return _decode_javascript(bracketed[1:-1])
    except DecodeError:
        raise
    except Exception as e:  # the official runner catches any exception
        raise DecodeError(f"{type(e).__name__}: {e}") from e
    raise ValueError(f"unknown language {language!r}: use Python, Java or JavaScript")


def _decode_python(source: str) -> list[dict]:
    tree = ast.parse(source, mode="eval").body
    if isinstance(tree, ast.Call):
        return [_call(tree)]
    if not isinstance(tree, (ast.List, ast.Tuple, ast.Set)):
        raise DecodeError(f"not a call or a list of calls: {type(tree).__name__}")
    calls = []
    for element in tree.elts:
        if not isinstance(element, ast.Call):
            raise DecodeError(f"a list element is not a call: {type(element).__name__}")
        calls.append(_call(element))
    return calls


def _call(node: ast.Call) -> dict:
    """{dotted name: {keyword: value}}; positional arguments are dropped (officially)."""
    parts = []
    func = node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return {".".join(reversed(parts)): {kw.arg: _value(kw.value) for kw in node.keywords}}


def _value(node: ast.AST | None) -> Any:
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        # Officially `-operand.value` for any unary operator: `+5`, `~5` and `not 5` give -5.
        operand = node.operand
        if not isinstance(operand, ast.Constant):
            raise DecodeError(f"unsupported operand of a unary operator: {type(operand).__name__}")
        return -operand.value
    if isinstance(node, ast.List):
        return [_value(v) for v in node.elts]
    if isinstance(node, ast.Dict):
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp):
        return _evaluate(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _call(node) if node.keywords else ast.unparse(node)
    if isinstance(node, ast.Tuple):
        return tuple(_value(v) for v in node.elts)
    if isinstance(node, ast.Subscript):
        return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"
    # A lambda fails officially too (its decoder indexes a node); so does anything else.
    raise DecodeError(f"unsupported value: {type(node).__name__}")


# ---------------------------------------------------------------------- arithmetic

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.BitAnd: operator.and_, ast.MatMult: operator.matmul,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_, ast.Invert: operator.invert}
_MAX_BITS = 1 << 16  # larger results are refused rather than computed
_MAX_LENGTH = 1 << 16


def _evaluate(node: ast.AST) -> Any:
    """The value Python's eval gives a constant expression, computed without eval;
    fails (as eval would on a missing name) on names, calls and attributes."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):  # inside an expression eval uses the real operator
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        _check_size(type(node.op), left, right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_evaluate(v) for v in node.elts]
        return list(items) if isinstance(node, ast.List) else tuple(items) if isinstance(node, ast.Tuple) else set(items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_evaluate(k): _evaluate(v) for k, v in zip(node.keys, node.values)}
    raise DecodeError(f"not evaluated: {ast.unparse(node)[:80]!r} (we do not run model output; "
                      "the official decoder would eval it)")


def _check_size(op: type, left: Any, right: Any) -> None:
    def bits(x: Any) -> int:
        return abs(int(x)).bit_length() if isinstance(x, (int, bool)) else 64

    too_big = False
    if op is ast.Pow and isinstance(right, int) and isinstance(left, int) and abs(left) > 1:
        too_big = right > 0 and bits(left) * right > _MAX_BITS
    elif op is ast.LShift and isinstance(right, int) and isinstance(left, int) and left:
        too_big = right > _MAX_BITS
    elif op is ast.Mult:
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int):
                too_big = too_big or len(seq) * n > _MAX_LENGTH
    if too_big:
        raise DecodeError("the expression's value is too large to compute")


# ---------------------------------------------------------------------- Java / JavaScript


@lru_cache(maxsize=2)
def _parser(language: str):
    """A tree-sitter parser with the official grammar (tree-sitter-java 0.21.0,
    tree-sitter-javascript 0.21.4, bundled with bfcl-eval)."""
    try:
        import tree_sitter
        grammar = __import__("tree_sitter_java" if language == "Java" else "tree_sitter_javascript")
    except ImportError as e:
        raise RuntimeError(
            f"decoding BFCL {language} answers needs tree-sitter and the official grammar: "
            "pip install 'agentforge[bench]' (it pins the grammars bfcl-eval uses)") from e
    try:  # tree-sitter 0.21
        lang = tree_sitter.Language(grammar.language(), language.lower())
        parser = tree_sitter.Parser()
        parser.set_language(lang)
    except TypeError:  # 0.22+
        parser = tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    return parser


def _syntax_tree(source: str, language: str):
    root = _parser(language).parse(source.encode("utf8")).root_node
    sexp = root.sexp() if hasattr(root, "sexp") else str(root)
    if "ERROR" in sexp:
        raise DecodeError(f"{language} syntax error")
    return root


def _decode_java(source: str) -> Any:
    root = _syntax_tree(source, "Java")

    def text(node) -> str:
        # Officially the str is sliced by byte offsets (it differs from the bytes past non-ASCII text).
        return source[node.start_byte : node.end_byte]

    def value(node, nested: bool = False) -> str:
        kind = node.type
        if kind in ("string_literal", "character_literal"):
            return text(node) if nested else text(node)[1:-1]
        if kind in ("identifier", "class_literal", "type_identifier", "method_invocation"):
            return text(node)
        if kind == "array_creation_expression":
            return f"new {value(node.child_by_field_name('type'), True)}[]{value(node.child_by_field_name('value'), True)}"
        if kind == "object_creation_expression":
            type_text = value(node.child_by_field_name("type"), True)
            arguments = node.child_by_field_name("arguments")
            if not arguments:
                return f"new {type_text}()"
            inner = [value(c, True) for c in arguments.children if c.type not in (",", "(", ")")]
            return f"new {type_text}({', '.join(inner)})"
        if kind == "set":
            return "{" + ", ".join(value(c, True) for c in node.children if c.type not in (",", "set")) + "}"
        if node.child_count > 0:
            return "".join(value(c, True) for c in node.children)
        return text(node)

    def arguments(node) -> dict:
        out: dict = {}
        for child in node.children:
            if child.type == "assignment_expression":
                _add(out, text(child.children[0]), value(child.children[2]))
            elif child.type in ("identifier", "class_literal", "set"):  # positional: under the key None
                _add(out, None, value(child))
        return out

    def first_call(node):
        if node.type == "method_invocation":
            args = node.child_by_field_name("arguments")
            if args:
                name = text(node.child_by_field_name("name"))
                owner = node.child_by_field_name("object")
                return [{f"{text(owner)}.{name}" if owner else name: _no_repeats(arguments(args))}]
            return None
        for child in node.children:
            found = first_call(child)
            if found:
                return found
        return None

    return first_call(root) or {}


def _decode_javascript(source: str) -> Any:
    root = _syntax_tree(source, "JavaScript")

    def text(node) -> str:
        return node.text.decode("utf8")

    def arguments(node) -> dict:
        out: dict = {}
        for child in node.children:
            if child.type == "assignment_expression":
                value = text(child.children[2])
                if any(value.startswith(q) and value.endswith(q) for q in "\"'"):
                    value = value[1:-1]  # as officially, a lone quote included
                _add(out, text(child.children[0]), value)
            elif child.type in ("identifier", "true"):
                _add(out, None, text(child))
        return out

    if root.type != "program":
        return None
    for statement in root.children:
        if statement.type != "expression_statement":
            continue
        for node in statement.children:
            if node.type == "call_expression":
                return [{text(node.children[0]): _no_repeats(arguments(node.children[1]))}]
    return None


_REPEATED = object()


def _add(arguments: dict, name: Any, value: str) -> None:
    arguments[name] = _REPEATED if name in arguments else value


def _no_repeats(arguments: dict) -> dict:
    if any(v is _REPEATED for v in arguments.values()):
        raise DecodeError("Multiple arguments with the same name are not supported.")
    return arguments


# ---------------------------------------------------------------------- FC mode

_TOOL_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)


def decode_fc_text(text: str, *, execute: bool = False) -> list[dict]:
    """The official FC decoding (Qwen FC handler) of a raw Hermes-format response.
    `execute`: its multi-turn variant, which also takes arguments given as a JSON string."""
    items: list[Any] = []
    for block in _TOOL_CALL.findall(after_reasoning(text)):
        try:
            items.append(json.loads(block))
        except Exception:  # officially kept as text
            items.append(block)
    if any(type(item) is not dict for item in items):
        return []  # one malformed call: officially the turn holds no call at all
    calls = []
    for item in items:
        if "name" not in item or "arguments" not in item:
            raise DecodeError(f"a tool call without {'name' if 'name' not in item else 'arguments'}")
        arguments = item["arguments"]
        if execute and isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except Exception as e:
                raise DecodeError(f"the arguments of {item['name']!r} are not JSON: {e}") from e
        if not isinstance(arguments, dict):
            raise DecodeError(f"the arguments of {item['name']!r} are not a JSON object")
        try:
            calls.append({item["name"]: dict(arguments)})
        except TypeError as e:  # an unhashable name
            raise DecodeError(f"the call's name is not a string: {e}") from e
    return calls
