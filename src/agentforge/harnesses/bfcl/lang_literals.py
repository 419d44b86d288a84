"""Java / JavaScript argument literals -> Python values, as the official BFCL checker reads them.

In the java and javascript categories the model passes every argument as a
string in the target language's syntax ("3.5f", "new ArrayList<>(Arrays.asList(1, 2))",
"[1, 'a']", "{'k': true}"). The checker converts that string by the declared
type and compares the result with the possible answer. A string that does not
parse as its declared type stays a string (and then usually fails the type
check). The conversions below reproduce the official ones rule for rule,
including their blind spots (e.g. a Java `char` is never unquoted, String
elements of a Java array keep their quotes), because verdicts must match.
"""

from __future__ import annotations

import re
from typing import Any

# Declared type -> the Python type the converted value must have.
JAVA_TYPES: dict[str, type] = {
    "byte": int, "short": int, "integer": int, "long": int,
    "float": float, "double": float,
    "boolean": bool,
    "char": str, "String": str, "any": str,
    "Array": list, "ArrayList": list, "Queue": list, "Stack": list,
    "Set": set,
    "HashMap": dict, "Hashtable": dict,
}
JS_TYPES: dict[str, type] = {
    "String": str, "any": str,
    "integer": int, "Bigint": int,
    "float": float,
    "Boolean": bool,
    "dict": dict,
    "array": list,
}

_INT = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")
_FLOAT_SUFFIX = re.compile(r"[fF]$")
_LONG_SUFFIX = re.compile(r"[lL]$")
_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_ADD_BLOCK = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_ADD_CALL = re.compile(r"add\((.+?)\)")
_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")

_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")
_JS_ARRAY_2D = re.compile(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)")
_JS_ARRAY = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_INNER = re.compile(r"\[(.*?)\]")
_JS_OBJECT = re.compile(r"\{(.*?)\}")
_JS_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _number(text: str) -> Any:
    """int, else float, else the text itself (Python's own int()/float() rules)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# ---------------------------------------------------------------- Java

def java_value(text: str, declared: str, item_declared: str | None = None) -> Any:
    if declared not in JAVA_TYPES:
        raise ValueError(f"unsupported Java type {declared!r}")
    if declared in ("byte", "short", "integer"):
        return int(text) if _INT.match(text) else text
    if declared == "float":
        return float(_FLOAT_SUFFIX.sub("", text)) if _JAVA_FLOAT.match(text) else text
    if declared == "double":
        return float(text) if _JAVA_DOUBLE.match(text) else text
    if declared == "long":
        return int(_LONG_SUFFIX.sub("", text)) if _JAVA_LONG.match(text) else text
    if declared == "boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "ArrayList":
        return _java_array_list(text, item_declared)
    if declared == "Array":
        return _java_array(text, item_declared)
    if declared == "HashMap":
        return _java_map(text)
    if declared in ("Set", "Hashtable", "Queue", "Stack"):
        raise NotImplementedError(f"Java {declared} literals are not converted")
    return text  # char (never unquoted officially), String, any


def _java_untyped(text: str) -> Any:
    """An element whose type the doc does not give."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(_FLOAT_SUFFIX.sub("", text))
    return _number(text)


def _java_element(text: str, item_declared: str | None) -> Any:
    if item_declared in ("char", "String"):
        return text[1:-1]  # drop the quotes
    return java_value(text, item_declared) if item_declared else _java_untyped(text)


def _java_array_list(text: str, item_declared: str | None) -> Any:
    found = _AS_LIST.search(text)
    if found:
        return [_java_element(part.strip(), item_declared) for part in found.group(1).split(",")]
    found = _ADD_BLOCK.search(text)
    if found:
        return [_java_element(arg.strip(), item_declared) for arg in _ADD_CALL.findall(found.group(1))]
    if _EMPTY_LIST.search(text):
        return []
    return text


def _java_array(text: str, item_declared: str | None) -> Any:
    found = _ARRAY.search(text)
    if not found:
        return text
    parts = [p.strip() for p in found.group(1).split(",") if p.strip()]
    if item_declared:
        return [java_value(p, item_declared) for p in parts]  # String items keep their quotes here
    return [_java_untyped(p) for p in parts]


def _java_map(text: str) -> Any:
    found = _MAP.search(text)
    if found:
        body = found.group(1)
        result = {}
        if body.strip():
            for key, value in _PUT.findall(body):
                result[key] = _java_untyped(value.strip())
        return result
    if _EMPTY_MAP.search(text):
        return {}
    return text


# ---------------------------------------------------------------- JavaScript

def js_value(text: str, declared: str, item_declared: str | None = None) -> Any:
    if declared not in JS_TYPES:
        raise ValueError(f"unsupported JavaScript type {declared!r}")
    if declared == "String":
        quoted = (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'"))
        return text[1:-1] if quoted else text
    if declared == "integer":
        return int(text) if _INT.match(text) else text
    if declared == "float":
        return float(text) if _JS_FLOAT.match(text) else text
    if declared == "Bigint":
        return int(text[:-1]) if _JS_BIGINT.match(text) else text
    if declared == "Boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "dict":
        return _js_object(text.strip())
    if declared == "array":
        return _js_array(text.strip(), item_declared)
    return text  # any


def _js_untyped(text: str) -> Any:
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'")):
        return text[1:-1]
    return _number(text)


def _split_items(body: str) -> list[str]:
    body = body.strip()
    return body.split(",") if body else []


def _js_array(code: str, item_declared: str | None) -> Any:
    try:
        grid = _JS_ARRAY_2D.match(code)
        if grid:
            rows = []
            for idx, row in enumerate(_JS_INNER.findall(grid.group(0))):
                row = row.strip()
                if idx == 0 and row.startswith("["):
                    row = row[1:]
                rows.append([_js_untyped(e.strip()) for e in row.split(",")])
            return rows
        flat = _JS_ARRAY.match(code)
        if not flat:
            return code
        if flat.group(1) is not None:
            items = _split_items(flat.group(1))
        elif flat.group(2) is not None:
            items = _split_items(flat.group(2))
        else:
            items = []
        if item_declared:
            # A quoted element is converted with "String" as its own item type
            # (it only matters for nested arrays/objects), as officially.
            return [
                js_value(e.strip(), item_declared, "String") if e.strip()[:1] in ("'", '"') else js_value(e.strip(), item_declared)
                for e in items
            ]
        return [_js_untyped(e.strip()) for e in items]
    except Exception:
        return code


def _js_object(code: str) -> Any:
    if code == "{}":
        return {}
    found = _JS_OBJECT.match(code)
    if not found:
        return code
    try:
        result = {}
        for key, value in _JS_PAIR.findall(found.group(1)):
            key = key.strip().strip("'\"")
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                result[key] = _js_array(value.strip(), None)
            elif value.startswith("{") and value.endswith("}"):
                result[key] = _js_object(value.strip())
            else:
                result[key] = _js_untyped(value.strip("'\""))
        return result
    except Exception:
        return code
