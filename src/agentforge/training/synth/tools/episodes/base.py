"""Stateful tool environments that really execute: the shared machinery.

An environment keeps all of its state in one JSON-able dict, so a record can
carry the state it started from and anyone can replay its calls on a fresh
copy. Each tool is a method marked with `@tool`; a tool may be offered under
one of several names (naming styles vary between APIs, and the model must read
the name from the schema rather than learn it by heart).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, ClassVar


class ToolError(Exception):
    """A call the environment refuses: returned to the model as {"error": ...}."""


@dataclass(frozen=True)
class Tool:
    key: str  # the method that executes it
    names: tuple[str, ...]  # names it may be offered under; names[0] is canonical
    description: str
    properties: dict[str, dict]
    required: tuple[str, ...]

    def schema(self, name: str | None = None) -> dict:
        return {
            "type": "function",
            "function": {
                "name": name or self.names[0],
                "description": self.description,
                "parameters": {"type": "object", "properties": self.properties, "required": list(self.required)},
            },
        }


def tool(description: str, *, names: tuple[str, ...] = (), required: tuple[str, ...] = (), **properties: dict):
    """Mark a method as a tool. `properties` are JSON-schema parameter specs."""

    def mark(method: Callable) -> Callable:
        method.__tool__ = Tool(method.__name__, names or (method.__name__,), description, properties, required)
        return method

    return mark


def string(description: str, **extra: Any) -> dict:
    return {"type": "string", "description": description, **extra}


def integer(description: str, **extra: Any) -> dict:
    return {"type": "integer", "description": description, **extra}


def number(description: str, **extra: Any) -> dict:
    return {"type": "number", "description": description, **extra}


def boolean(description: str, **extra: Any) -> dict:
    return {"type": "boolean", "description": description, **extra}


def array(description: str, items: dict, **extra: Any) -> dict:
    return {"type": "array", "description": description, "items": items, **extra}


class ToolEnv:
    """Base class: subclasses set NAME, build `self.state` and define @tool methods."""

    NAME: ClassVar[str]

    def __init__(self, state: dict) -> None:
        self.state = copy.deepcopy(state)

    @classmethod
    def tools(cls) -> dict[str, Tool]:
        found = {}
        for attr in dir(cls):
            t = getattr(getattr(cls, attr), "__tool__", None)
            if t is not None:
                found[t.key] = t
        return found

    @classmethod
    def resolve(cls, name: str) -> Tool | None:
        for t in cls.tools().values():
            if name in t.names:
                return t
        return None

    def snapshot(self) -> dict:
        return copy.deepcopy(self.state)

    def execute(self, name: str, arguments: str) -> str:
        """Run one call as the model wrote it; the result (or error) as JSON text."""
        t = self.resolve(name)
        if t is None:
            return _error(f"unknown function '{name}'")
        try:
            args = json.loads(arguments)
        except ValueError:
            return _error("arguments are not valid JSON")
        problems = argument_errors(args, t.schema()["function"]["parameters"])
        if problems:
            return _error("; ".join(problems))
        try:
            return json.dumps(getattr(self, t.key)(**args), ensure_ascii=False)
        except ToolError as e:
            return _error(str(e))


def _error(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def argument_errors(value: Any, schema: dict, where: str = "arguments") -> list[str]:
    """What is wrong with `value` against a (small) JSON schema; [] if nothing."""
    kind = schema.get("type")
    if kind in _TYPES:
        ok = isinstance(value, _TYPES[kind]) and not (isinstance(value, bool) and kind in ("integer", "number"))
        if not ok:
            return [f"{where} must be of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} must be one of {schema['enum']}"]
    if "minimum" in schema and value < schema["minimum"]:
        return [f"{where} must be at least {schema['minimum']}"]
    if "maximum" in schema and value > schema["maximum"]:
        return [f"{where} must be at most {schema['maximum']}"]
    problems: list[str] = []
    if kind == "array":
        for i, item in enumerate(value):
            problems += argument_errors(item, schema.get("items", {}), f"{where}[{i}]")
    if kind == "object" and "properties" in schema:
        props = schema["properties"]
        problems += [f"missing required argument '{k}'" for k in schema.get("required", []) if k not in value]
        problems += [f"unexpected argument '{k}'" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                problems += argument_errors(v, props[k], k)
    return problems
