"""Validation of training records (the `{messages, tools}` shape of
_brief/RECORDS.md), for every source: procedural, episodes, teacher, files
from elsewhere. `validate_record` lists the problems; an empty list is a
valid record."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

_ROLES = {"system", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}


def check_value(value: Any, schema: dict, where: str) -> list[str]:
    """Problems of `value` against a JSON-schema subset: type, enum, items, properties, required."""
    problems = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds:
        ok = any(isinstance(value, _JSON_TYPES.get(k, ())) and not (isinstance(value, bool) and k in ("integer", "number"))
                 for k in kinds)
        if not ok:
            return [f"{where}: {json.dumps(value)[:60]} is not of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {json.dumps(value)[:60]} is not one of {schema['enum']}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += check_value(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict) and ("properties" in schema or "required" in schema):
        problems += check_object(value, schema, where)
    return problems


def check_object(value: dict, schema: dict, where: str) -> list[str]:
    props = schema.get("properties") or {}
    problems = [f"{where}: missing required '{r}'" for r in schema.get("required") or [] if r not in value]
    for key, v in value.items():
        if key not in props:
            if schema.get("additionalProperties") is not True:
                problems.append(f"{where}: unknown parameter '{key}'")
            continue
        problems += check_value(v, props[key], f"{where}.{key}")
    return problems


def _check_tools(tools: Any) -> tuple[dict[str, dict], list[str]]:
    if tools is None:
        return {}, []
    if not isinstance(tools, list):
        return {}, ["tools: not a list"]
    problems, by_name = [], {}
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or (tool.get("type", "function") != "function"):
            problems.append(f"tools[{i}]: want {{'type': 'function', 'function': {{...}}}}")
            continue
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            problems.append(f"tools[{i}]: name {name!r} is not a valid tool name ([a-zA-Z0-9_-], at most 64)")
            continue
        if name in by_name:
            problems.append(f"tools[{i}]: duplicate tool name {name!r}")
        params = fn.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict) or params.get("type") != "object" or not isinstance(params.get("properties", {}), dict):
            problems.append(f"tools[{i}] {name}: parameters must be a JSON schema of type object")
            continue
        missing = [r for r in params.get("required") or [] if r not in params.get("properties", {})]
        if missing:
            problems.append(f"tools[{i}] {name}: required {missing} not among its properties")
        by_name[name] = params
    return by_name, problems


def _check_calls(m: dict, i: int, tools: dict[str, dict]) -> tuple[set[str], list[str]]:
    problems, ids = [], set()
    calls = m["tool_calls"]
    if not isinstance(calls, list) or not calls:
        return ids, [f"messages[{i}]: tool_calls must be a non-empty list"]
    for j, call in enumerate(calls):
        where = f"messages[{i}].tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            problems.append(f"{where}: want {{'id', 'type': 'function', 'function': {{'name', 'arguments'}}}}")
            continue
        cid = call.get("id")
        if not isinstance(cid, str) or not cid:
            problems.append(f"{where}: missing call id")
        elif cid in ids:
            problems.append(f"{where}: duplicate call id {cid!r}")
        else:
            ids.add(cid)
        name, args = fn.get("name"), fn.get("arguments")
        if name not in tools:
            problems.append(f"{where}: calls {name!r}, which is not among the record's tools")
        if not isinstance(args, str):
            problems.append(f"{where}: arguments must be a JSON string")
            continue
        try:
            parsed = json.loads(args)
        except ValueError as e:
            problems.append(f"{where}: arguments are not JSON ({e})")
            continue
        if not isinstance(parsed, dict):
            problems.append(f"{where}: arguments must be a JSON object")
        elif name in tools:
            problems += check_object(parsed, tools[name], f"{where} {name}")
    return ids, problems


def validate_record(rec: Any) -> list[str]:
    if not isinstance(rec, dict):
        return ["record is not a JSON object"]
    tools, problems = _check_tools(rec.get("tools"))
    messages = rec.get("messages")
    if not isinstance(messages, list) or not messages:
        return problems + ["messages: want a non-empty list"]
    open_ids: set[str] = set()
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            problems.append(f"messages[{i}]: role must be one of {sorted(_ROLES)}")
            continue
        role, content = m["role"], m.get("content")
        if content is not None and not isinstance(content, str):
            problems.append(f"messages[{i}]: content must be a string")
        if role == "system" and i != 0:
            problems.append(f"messages[{i}]: a system message may only come first")
        if role == "user" and not (content or "").strip():
            problems.append(f"messages[{i}]: empty user message")
        if role == "assistant":
            if m.get("tool_calls"):
                open_ids, call_problems = _check_calls(m, i, tools)
                problems += call_problems
            else:
                open_ids = set()
                if not (content or "").strip():
                    problems.append(f"messages[{i}]: assistant message with neither text nor tool calls")
        if role == "tool":
            cid = m.get("tool_call_id")
            if cid not in open_ids:
                problems.append(f"messages[{i}]: tool_call_id {cid!r} answers no call of the preceding assistant turn")
            open_ids.discard(cid)
            if not isinstance(content, str):
                problems.append(f"messages[{i}]: tool content must be a string")
        if role in ("user", "system"):
            open_ids = set()
    first = 1 if messages[0].get("role") == "system" else 0
    if len(messages) <= first or messages[first].get("role") != "user":
        problems.append("the conversation must start with a user message (after an optional system message)")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        problems.append("no assistant message: nothing to train on")
    elif isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
        problems.append(f"ends with a {messages[-1].get('role')} message: nothing to learn after it")
    return problems


def read_records(path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, record or None, JSON error or None) for each non-blank line of a JSONL file."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except ValueError as e:
                yield n, None, f"not JSON: {e}"
