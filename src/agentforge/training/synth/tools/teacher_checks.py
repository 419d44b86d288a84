"""The checks teacher mode filters on: JSON in a reply, generated tool schemas,
call arguments against a schema, and the normalized form of a turn's calls
that samples must agree on.

Everything here is pure and never trusts its input: teachers write broken
JSON, invent schema keywords and put strings where numbers belong.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # OpenAI allows [A-Za-z0-9_-]{1,64}; we stay Python-safe
TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
MAX_DEPTH = 4  # nested objects/arrays in one parameter; deeper schemas are rarely real and hard to fill
_FENCE = re.compile(r"^```[\w+-]*\s*\n?(.*?)\n?```\s*$", re.S)


def extract_json(text: str | None) -> Any:
    """The JSON value a reply holds: the whole reply, inside a code fence, or the
    first object/array after some prose. Raises ValueError when there is none."""
    text = (text or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"[\[{]", text)][:20]:
        try:
            return decoder.raw_decode(text, start)[0]
        except ValueError:
            continue
    raise ValueError(f"no JSON value in the reply: {text[:80]!r}")


def strict_json(text: str | None) -> Any:
    """The reply as one JSON object or array, nothing around it but a code fence.
    A tool result must be exactly that: prose around it would reach the model."""
    text = (text or "").strip()
    fenced = _FENCE.match(text)
    value = json.loads(fenced.group(1) if fenced else text)  # ValueError when it is not JSON
    if not isinstance(value, (dict, list)):
        raise ValueError(f"a tool result must be a JSON object or array, got {type(value).__name__}")
    return value


# ------------------------------------------------------------------ tool schemas


def _type_names(schema: dict) -> list[str]:
    t = schema.get("type")
    return t if isinstance(t, list) else [t]


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    kinds = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return isinstance(value, kinds[name])


def schema_problem(schema: Any, path: str = "parameters", depth: int = 0) -> str | None:
    """Why a parameter schema is unusable (None when it is fine). We accept the
    JSON-schema subset function calling uses: typed values, enums, arrays with
    items, objects with properties and required."""
    if not isinstance(schema, dict):
        return f"{path}: a schema must be an object"
    if depth > MAX_DEPTH:
        return f"{path}: nested deeper than {MAX_DEPTH} levels"
    names = _type_names(schema)
    if not names or not all(isinstance(t, str) and t in TYPES for t in names):
        return f"{path}: type must be one of {', '.join(TYPES)}, got {schema.get('type')!r}"
    if "enum" in schema:
        enum = schema["enum"]
        if not isinstance(enum, list) or not enum:
            return f"{path}: enum must be a non-empty list"
        if any(not any(_is_type(v, t) for t in names) for v in enum):
            return f"{path}: an enum value does not have type {schema['type']}"
        if len({json.dumps(v, sort_keys=True) for v in enum}) != len(enum):
            return f"{path}: enum repeats a value"
    if "array" in names:
        if "items" not in schema:
            return f"{path}: an array needs an items schema"
        if problem := schema_problem(schema["items"], f"{path}.items", depth + 1):
            return problem
    if "object" in names:
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            return f"{path}: properties must be an object"
        for key, sub in props.items():
            if not NAME_RE.match(key):
                return f"{path}: property name {key!r} is not an identifier"
            if problem := schema_problem(sub, f"{path}.{key}", depth + 1):
                return problem
        required = schema.get("required", [])
        if not isinstance(required, list) or any(r not in props for r in required):
            return f"{path}: required must list declared properties"
    if schema.get("default") is not None:  # null: "no value", common for optional parameters
        if problem := value_problem(schema["default"], schema, f"{path}.default"):
            return problem
    return None


def tool_from_json(obj: Any) -> dict:
    """A generated tool as an OpenAI tool dict ({"type": "function", "function": ...}),
    accepting the bare function form too. Raises ValueError saying what is wrong."""
    if isinstance(obj, dict) and isinstance(obj.get("function"), dict):
        obj = obj["function"]
    if not isinstance(obj, dict):
        raise ValueError("a tool must be a JSON object")
    name, description = obj.get("name"), obj.get("description")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"tool name {name!r} is not an identifier")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{name}: no description")
    parameters = obj.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        raise ValueError(f"{name}: parameters must be a schema of type object")
    if problem := schema_problem(parameters, f"{name}.parameters"):
        raise ValueError(problem)
    parameters = {"type": "object", "properties": parameters.get("properties", {}),
                  "required": parameters.get("required", [])}
    return {"type": "function", "function": {"name": name, "description": description.strip(), "parameters": parameters}}


def tools_from_reply(value: Any) -> tuple[list[dict], list[str]]:
    """The valid tools of a teacher's reply (a list, or {"tools": [...]}) and why the others were dropped."""
    if isinstance(value, dict):
        value = value.get("tools", value.get("functions", [value]))
    if not isinstance(value, list):
        return [], ["the reply is not a list of tools"]
    tools, problems, seen = [], [], set()
    for item in value:
        try:
            tool = tool_from_json(item)
        except ValueError as e:
            problems.append(str(e))
            continue
        if tool["function"]["name"] in seen:
            problems.append(f"{tool['function']['name']}: defined twice")
            continue
        seen.add(tool["function"]["name"])
        tools.append(tool)
    return tools, problems


# ------------------------------------------------------------------ call arguments


def value_problem(value: Any, schema: dict, path: str, top: bool = False) -> str | None:
    """Why `value` does not fit `schema` (None when it does): type, enum, range,
    required and unknown properties, recursively. `top`: the call's own arguments,
    where an unknown name is an error as it is for a real function (TypeError)."""
    names = _type_names(schema)
    if names != [None] and not any(isinstance(t, str) and t in TYPES and _is_type(value, t) for t in names):
        return f"{path}: expected {schema.get('type')}, got {json.dumps(value)[:40]}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {json.dumps(value)[:40]} is not one of {schema['enum']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, (int, float)) and value < low or isinstance(high, (int, float)) and value > high:
            return f"{path}: {value} is out of range"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            if problem := value_problem(item, schema["items"], f"{path}[{i}]"):
                return problem
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        for key in schema.get("required", []):
            if key not in value:
                return f"{path}: missing required {key!r}"
        for key, item in value.items():
            if key not in props:
                if top or schema.get("additionalProperties") is False:
                    return f"{path}: unknown argument {key!r}"
                continue
            if problem := value_problem(item, props[key], f"{path}.{key}"):
                return problem
    return None


def argument_problem(arguments: Any, tool: dict) -> str | None:
    """Why a call's arguments do not fit the tool (None when they do)."""
    fn = tool["function"]
    if not isinstance(arguments, dict):
        return f"{fn['name']}: arguments must be a JSON object"
    return value_problem(arguments, fn["parameters"], fn["name"], top=True)


# ------------------------------------------------------------------ agreement


def _normalize(value: Any, schema: Any) -> Any:
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)  # 2 and 2.0 are the same argument
    if isinstance(value, list):
        return [_normalize(v, schema.get("items")) for v in value]
    if isinstance(value, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        out = {}
        for key, v in value.items():
            sub = props.get(key) if isinstance(props.get(key), dict) else {}
            if "default" in sub and _normalize(v, sub) == _normalize(sub["default"], sub):
                continue  # passing an optional parameter its default = leaving it out
            out[key] = _normalize(v, sub)
        return out
    return repr(value)


def call_signature(calls: Iterable[tuple[str, Any]], tools: dict[str, dict]) -> tuple[str, ...]:
    """What two samples must share to agree: the multiset of (name, normalized
    arguments). Order does not matter (parallel calls); case, spacing, int/float
    and defaulted optional arguments do not either. No calls = ()."""
    out = []
    for name, arguments in calls:
        schema = tools[name]["function"]["parameters"] if name in tools else {}
        out.append(json.dumps([name, _normalize(arguments, schema)], sort_keys=True, ensure_ascii=False))
    return tuple(sorted(out))
