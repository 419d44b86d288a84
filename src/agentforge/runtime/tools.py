"""Typed tools: plain Python functions the agent can call.

`Tool.from_function` (or the `@tool` decorator) reads the function's signature,
type hints and docstring, builds a pydantic model of its parameters, and from it
the JSON schema the model sees. `Tool.run` validates the model's arguments with
that same pydantic model, so what the schema promises is what the function gets.
Every failure (bad JSON, a wrong type, an exception, a timeout) comes back as an
error result the model can read and act on; tools never raise into the agent loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import sys
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from agentforge.runtime.messages import FunctionSpec, Message, ToolCall, ToolSpec

__all__ = ["Tool", "ToolResult", "Toolbox", "tool"]


@dataclass
class ToolResult:
    content: str
    error: bool = False


# ---------------------------------------------------------------------------- docstrings

_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")  # "Args:", "Returns:", "Raises:" ...
_ARGS_SECTIONS = {"args:", "arguments:", "parameters:", "params:"}
_ARG_LINE = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")  # "name (type): text"


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(first paragraph, {parameter: description}) from a Google-style docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line):
            break
        summary.append(line.strip())
    params: dict[str, str] = {}
    header = next((i for i, line in enumerate(lines) if line.strip().lower() in _ARGS_SECTIONS), None)
    if header is not None:
        header_indent = len(lines[header]) - len(lines[header].lstrip())
        entry_indent: int | None = None
        current: str | None = None
        for line in lines[header + 1 :]:
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            if indent <= header_indent:  # the next section
                break
            match = _ARG_LINE.match(line)
            if match and (entry_indent is None or indent <= entry_indent):
                entry_indent = indent
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current is not None:  # a continuation line
                params[current] = (params[current] + " " + line.strip()).strip()
    return " ".join(summary), params


# ---------------------------------------------------------------------------- schemas

_VALUE_KEYS = {"default", "const", "enum", "examples"}  # hold data, not schemas
_NAME_MAP_KEYS = {"properties", "$defs", "definitions", "patternProperties"}  # name -> schema


def _drop_titles(schema: Any) -> Any:
    """Remove pydantic's generated `title`s (noise to a model), keeping properties named "title"."""
    if isinstance(schema, list):
        return [_drop_titles(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _VALUE_KEYS:
            out[key] = value
        elif key in _NAME_MAP_KEYS and isinstance(value, dict):
            out[key] = {name: _drop_titles(sub) for name, sub in value.items()}
        else:
            out[key] = _drop_titles(value)
    return out


def _inline_refs(schema: Any, defs: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """Replace `{"$ref": "#/$defs/X"}` by X itself: many models handle flat schemas better."""
    if isinstance(schema, list):
        return [_inline_refs(s, defs, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.split("/")[-1]
        if name in seen or name not in defs:
            raise RecursionError(name)  # a recursive model cannot be inlined
        siblings = {k: v for k, v in schema.items() if k != "$ref"}  # e.g. a field description
        return {**_inline_refs(defs[name], defs, seen | {name}), **siblings}
    return {
        key: value if key in _VALUE_KEYS else _inline_refs(value, defs, seen) for key, value in schema.items()
    }


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    schema = _drop_titles(schema)
    defs = schema.pop("$defs", None)
    if defs:
        try:
            schema = _inline_refs(schema, defs)
        except RecursionError:
            schema["$defs"] = defs  # keep the references
    out: dict[str, Any] = {"type": "object", "properties": schema.get("properties", {})}
    if schema.get("required"):
        out["required"] = schema["required"]
    out.update({k: v for k, v in schema.items() if k not in {"type", "properties", "required"}})
    return out


def _type_label(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "type" in schema:
        return str(schema["type"])
    if "anyOf" in schema:
        return " | ".join(_type_label(s) for s in schema["anyOf"])
    return "object" if "properties" in schema or "$ref" in schema else "any"


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, FieldInfo) and m.description for m in typing.get_args(annotation)[1:])
    return False


_JSON_KINDS = {
    list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"
}


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError):  # e.g. a circular structure
        return str(value)


# ---------------------------------------------------------------------------- Tool


def _type_hints(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    """The resolved type hints of fn; `from __future__ import annotations` makes them strings."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    # Resolve one by one to name the culprit (e.g. a class defined inside a function).
    hints = {}
    namespace = getattr(fn, "__globals__", {})
    for key, annotation in getattr(fn, "__annotations__", {}).items():
        try:
            hints[key] = eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307
        except Exception as exc:
            raise TypeError(f"cannot resolve the type hint {annotation!r} of {key!r} in tool {name}: {exc}") from exc
    return hints


class Tool:
    """A Python callable (sync or async) with the schema and validation a model needs."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        blocking: bool = False,
    ) -> None:
        if isinstance(fn, Tool):  # re-wrapping a decorated function, e.g. to rename it
            fn = fn.fn
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        summary, param_docs = parse_docstring(inspect.getdoc(fn))
        self.description = summary if description is None else description
        self.timeout = timeout
        # A sync function runs in a thread only when it says it blocks (I/O,
        # subprocesses) or has a timeout; most tools are quick in-memory
        # functions, and a thread hop per call cost ~6 ms per agent step at
        # 512 concurrent episodes (bench/agent_overhead.py).
        self.blocking = blocking
        # An async function, or an object whose __call__ is one.
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
        self._params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)  # *args/**kwargs cannot be described
        ]
        hints = _type_hints(fn, self.name)
        fields: dict[str, Any] = {}
        for i, p in enumerate(self._params):
            annotation = hints.get(p.name, p.annotation)
            if annotation is inspect.Parameter.empty:
                annotation = Any
            default = ... if p.default is inspect.Parameter.empty else p.default
            doc = None if _has_description(annotation) else param_docs.get(p.name)
            # Field names are positional and the real name is the alias, so that parameters
            # called "json", "schema" or "_x" don't collide with pydantic's own names.
            extra = {"description": doc} if doc else {}  # an explicit None would erase an Annotated one
            fields[f"p{i}"] = (annotation, Field(default, alias=p.name, **extra))
        try:
            self.model: type[BaseModel] = create_model(
                f"{self.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
            )
            with warnings.catch_warnings():  # a default that is not JSON is left out of the schema: fine
                warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
                self.parameters: dict[str, Any] = _clean_schema(self.model.model_json_schema())
        except Exception as exc:
            raise TypeError(f"cannot build a tool from {self.name}: {exc}") from exc

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        blocking: bool = False,
    ) -> "Tool":
        return cls(fn, name=name, description=description, timeout=timeout, blocking=blocking)

    @property
    def spec(self) -> ToolSpec:
        function = FunctionSpec(name=self.name, description=self.description, parameters=self.parameters)
        return ToolSpec(function=function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly (a decorated function stays usable as one)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def _signature_hint(self) -> str:
        required = set(self.parameters.get("required", []))
        parts = []
        for name, prop in self.parameters["properties"].items():
            part = f"{name}: {_type_label(prop)}"
            if name not in required and "default" in prop:
                part += f" = {json.dumps(prop['default'], ensure_ascii=False)}"
            parts.append(part)
        return f"{self.name}({', '.join(parts)})"

    def _validation_message(self, exc: ValidationError) -> str:
        lines = [f"Error: invalid arguments for tool {self.name!r}:"]
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]) or "arguments"
            what = "parameter" if len(err["loc"]) == 1 else "field"
            if err["type"] == "extra_forbidden":
                lines.append(f"- {where}: unknown {what}")
            elif err["type"] == "missing":
                lines.append(f"- {where}: missing required {what}")
            else:
                got = json.dumps(err.get("input"), ensure_ascii=False, default=str)
                lines.append(f"- {where}: {err['msg']} (got {got[:100]})")
        lines.append(f"Expected: {self._signature_hint()}")
        return "\n".join(lines)

    async def run(self, arguments: str | dict[str, Any]) -> ToolResult:
        """Validate `arguments` (JSON text or a dict) and call the function. Never raises."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except (ValueError, RecursionError) as exc:
                return ToolResult(f"Error: the arguments of {self.name} are not valid JSON ({exc}).", error=True)
        if not isinstance(arguments, dict):
            kind = _JSON_KINDS.get(type(arguments), type(arguments).__name__)
            return ToolResult(f"Error: the arguments of {self.name} must be a JSON object, got {kind}.", error=True)
        try:
            validated = self.model.model_validate(arguments)
        except ValidationError as exc:
            return ToolResult(self._validation_message(exc), error=True)

        # Pass only what the model gave, so the function's own defaults apply to the rest.
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for i, p in enumerate(self._params):
            value = getattr(validated, f"p{i}")
            if p.kind is p.POSITIONAL_ONLY:  # always passed: a later one may be given
                args.append(value)
            elif f"p{i}" in validated.model_fields_set:
                kwargs[p.name] = value

        try:
            if self._is_async:
                result = await asyncio.wait_for(self.fn(*args, **kwargs), self.timeout)
            elif self.blocking or self.timeout is not None:
                # On timeout a thread keeps running (threads cannot be killed); its result is dropped.
                result = await asyncio.wait_for(asyncio.to_thread(self.fn, *args, **kwargs), self.timeout)
            else:
                result = self.fn(*args, **kwargs)
            if inspect.isawaitable(result):  # e.g. a sync wrapper returning a coroutine
                result = await asyncio.wait_for(result, self.timeout)
        except asyncio.TimeoutError:
            return ToolResult(f"Error: tool {self.name} timed out after {self.timeout:g} seconds.", error=True)
        except Exception as exc:
            return ToolResult(f"Error: {type(exc).__name__}: {exc}", error=True)
        return ToolResult(_to_text(result))


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None, blocking: bool = False
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    blocking: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a Tool of a function: `@tool` or `@tool(name=..., timeout=..., blocking=True)`."""
    make = functools.partial(Tool, name=name, description=description, timeout=timeout, blocking=blocking)
    return make if fn is None else make(fn)


# ---------------------------------------------------------------------------- Toolbox


class Toolbox:
    """Tools by name: their specs for the model, and dispatch of the model's calls."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()) -> None:
        self.tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, t: Tool | Callable[..., Any]) -> Tool:
        t = t if isinstance(t, Tool) else Tool(t)
        if t.name in self.tools:
            raise ValueError(f"two tools are named {t.name!r}")
        self.tools[t.name] = t
        return t

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self.tools.values()]

    async def run(self, name: str, arguments: str | dict[str, Any]) -> ToolResult:
        if name not in self.tools:
            available = ", ".join(self.tools) or "(none)"
            return ToolResult(f"Error: unknown tool {name!r}. Available tools: {available}.", error=True)
        return await self.tools[name].run(arguments)

    async def call(self, tool_call: ToolCall) -> Message:
        """Run one of the model's tool calls; the answer is the tool message to append."""
        result = await self.run(tool_call.name, tool_call.function.arguments)
        return Message.tool(result.content, tool_call_id=tool_call.id, name=tool_call.name)

    @classmethod
    def from_module(cls, module_or_path: str) -> "Toolbox":
        """Tools from a module name or a .py file: its Tool objects, or else its public functions."""
        module = _load_module(module_or_path)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        values = [getattr(module, n) for n in names if hasattr(module, n)]
        tools = [v for v in values if isinstance(v, Tool)]
        if not tools:  # functions defined here, not imported ones such as `from os.path import join`
            tools = [Tool(v) for v in values if inspect.isfunction(v) and v.__module__ == module.__name__]
        return cls(tools)


def _load_module(module_or_path: str) -> ModuleType:
    path = Path(module_or_path)
    if module_or_path.endswith(".py") or path.is_file():
        path = path.resolve()
        # A unique name per file, registered in sys.modules so type hints and pickling resolve.
        name = f"agentforge_tools_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load tools from {module_or_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    return importlib.import_module(module_or_path)
