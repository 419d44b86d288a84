"""A family rendered as a tool, in one of many naming and description styles.

The format is what our BFCL harness shows a model in FC mode (see
harnesses/bfcl/prompts.py): JSON-schema types, top-level `type: object`,
`description` before `type` in each property, dotted names exposed with
underscores, and (often) the suffixes the official pipeline appends: "The
function is written in Python 3 syntax." and "This is a float type value.".
Only the format is shared; the content is ours.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from agentforge.training.synth.tools import languages
from agentforge.training.synth.tools.catalog import Family, Param
from agentforge.training.synth.tools.phrasing import bare_task
from agentforge.training.synth.tools.values import Kind

FLOAT_SUFFIX = " This is a float type value."
_VERBS = ("get", "find", "compute", "calc", "fetch", "lookup", "query", "run", "do")
_VERB_WORDS = {"get", "find", "calculate", "compute", "search", "check", "create", "send", "book", "list", "add", "set",
               "convert", "run", "open", "read", "post", "play", "build", "apply", "transfer", "schedule", "scale",
               "restart", "deploy", "track", "report", "reserve", "is", "solve", "lock", "scan", "ping", "generate",
               "count", "summarize", "define", "translate", "compress", "backup", "split"}


@dataclass
class RenderedTool:
    family: Family
    name: str
    param_names: dict[str, str]  # family param name -> name in the schema
    tool: dict[str, Any] = field(repr=False)
    language: str = "Python"
    name_of: Callable[[str], str] = lambda n: n  # a field name in the schema's style (nested objects)

    def arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """Gold arguments (schema names, schema order) from {family param name: value}."""
        def convert(value: Any) -> Any:
            if isinstance(value, dict):
                value = {self.name_of(k): v for k, v in value.items()}
            return value if self.language == "Python" else languages.literal(value)
        return {self.param_names[p.name]: convert(values[p.name]) for p in self.family.params if p.name in values}


def _camel(words: list[str]) -> str:
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\s]+", name) if w]


def function_name(family: Family, rng: random.Random) -> str:
    words = list(family.words)
    if words[0] not in _VERB_WORDS and rng.random() < 0.4:
        words.insert(0, rng.choice(_VERBS))
    style = rng.random()
    if style < 0.45:
        name = "_".join(words)
    elif style < 0.68:
        name = _camel(words)
    elif style < 0.88:  # a dotted `module.func`, exposed the way FC mode exposes it
        name = f"{family.module}_{'_'.join(words)}"
    elif style < 0.94:
        name = "".join(w[:1].upper() + w[1:] for w in words)
    else:
        name = f"{family.module}_{_camel(words)}"
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]


def _default_note(p: Param, rng: random.Random) -> str:
    if p.default is None:
        return rng.choice(["", " Optional.", ""])
    shown = repr(p.default) if isinstance(p.default, str) and rng.random() < 0.5 else str(p.default).lower() \
        if isinstance(p.default, bool) else str(p.default)
    return rng.choice([f" Default is {shown}.", f" Defaults to {shown}.", f" (default: {shown})", f" Default {shown}.", ""])


def _schema(kind: Kind, desc: str, python: bool, rng: random.Random, name_of) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind.type == "number" and python:
        desc = (desc + FLOAT_SUFFIX).strip()
    if kind.fmt:
        desc = f"{desc} Format {kind.fmt}." if desc else f"Format {kind.fmt}."
    if desc:
        out["description"] = desc
    if kind.enum:
        out["enum"] = list(kind.enum)
    out["type"] = kind.type
    if kind.items is not None:
        out["items"] = _schema(kind.items, "", python, rng, name_of)
    if kind.fields:
        out["properties"] = {name_of(n): _schema(k, n.replace("_", " ").capitalize() + ".", python, rng, name_of)
                             for n, k in kind.fields}
        out["required"] = [name_of(n) for n, _ in kind.fields]
    return out


def render(family: Family, rng: random.Random, *, name: str | None = None) -> RenderedTool:
    name = name or function_name(family, rng)
    camel = any(c.isupper() for c in name[1:]) and rng.random() < 0.7
    name_of = (lambda n: _camel(_words(n))) if camel else (lambda n: n)
    language = "Python"
    if rng.random() < 0.05:  # the java / javascript categories' format, now and then
        language = rng.choice(["Java", "JavaScript"])
        language = language if languages.supports(family, language) else "Python"
    python = language == "Python" and rng.random() < 0.65
    desc = family.desc
    extra = rng.random()  # a second sentence, sometimes
    if extra < 0.1:
        desc += f" Use it to {bare_task(rng.choice(family.tasks))}."
    elif extra < 0.2 and family.required:
        desc += f" Requires the {', '.join(p.label for p in family.required)}."
    elif extra < 0.25:
        desc += rng.choice([" Returns the result as JSON.", " Read-only.", " Results may be cached for a few minutes.",
                            " Fails if an argument is out of range."])
    if python or language != "Python":
        desc += languages.HINT[language]
    props: dict[str, Any] = {}
    for p in family.params:
        pdesc = p.desc + (_default_note(p, rng) if p.optional else "")
        if language != "Python":
            schema = {"description": pdesc + languages.note(p.kind, language)}
            schema |= {"enum": list(p.kind.enum)} if p.kind.enum else {}
            props[name_of(p.name)] = schema | {"type": "string"}
            continue
        schema = _schema(p.kind, pdesc, python, rng, name_of)
        if p.optional and p.default is not None and rng.random() < 0.3:
            schema = {k: v for k, v in schema.items() if k != "type"} | {"default": p.default, "type": schema["type"]} \
                if "items" not in schema and "properties" not in schema else schema
        props[name_of(p.name)] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": props}
    required = [name_of(p.name) for p in family.params if not p.optional]
    if required:
        parameters["required"] = required
    tool = {"type": "function", "function": {"name": name, "description": desc, "parameters": parameters}}
    return RenderedTool(family, name, {p.name: name_of(p.name) for p in family.params}, tool, language, name_of)
