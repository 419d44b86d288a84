"""What the model sees in a BFCL entry: function docs as native tools (FC mode)
or inside the system prompt (prompt mode).

BFCL docs use their own type names (dict, float, tuple, any, Java and
JavaScript types); FC mode maps them to JSON schema. Function names with dots
are not valid OpenAI tool names, so FC mode exposes `a.b` as `a_b` and maps the
calls back, which is what the official pipeline's name conversion amounts to.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from agentforge.harnesses.bfcl.checker import language_of
from agentforge.runtime.messages import FunctionSpec, Message, ToolSpec

# BFCL type name -> JSON schema type (a fact of the benchmark's type system).
JSON_TYPE = {
    "integer": "integer", "number": "number", "float": "number", "string": "string",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
    "dict": "object", "object": "object", "tuple": "array", "any": "string",
    "byte": "integer", "short": "integer", "long": "integer", "double": "number",
    "char": "string", "ArrayList": "array", "Array": "array", "HashMap": "object",
    "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string",
    "String": "string", "Bigint": "integer",
}
SCHEMA_KEYS = {"description", "enum", "default", "format", "minimum", "maximum", "minItems", "maxItems"}
LANGUAGE_HINT = {
    "Python": "The function is written in Python 3 syntax.",
    "Java": "The function is written in Java 8 SDK syntax.",
    "JavaScript": "The function is written in JavaScript syntax.",
}


def prepare_functions(functions: list[dict], category: str) -> list[dict]:
    """Per-language adjustments the official pipeline makes before any model sees
    the docs: a language note in each description, and Java/JavaScript
    parameters declared as strings holding the language's literal."""
    functions = copy.deepcopy(functions)
    lang = language_of(category)
    for fn in functions:
        fn["description"] = f"{fn.get('description', '')} {LANGUAGE_HINT[lang]}"
        if lang == "Python":
            continue
        for name, prop in fn.get("parameters", {}).get("properties", {}).items():
            declared = prop.get("type", "any")
            note = f" Pass a {lang} value of type {declared} as a string."
            if declared in ("ArrayList", "Array") and "items" in prop:
                note += f" Its elements are of type {prop['items'].get('type', 'any')}."
                del prop["items"]
            prop["description"] = prop.get("description", "") + note
            prop["type"] = "string"
    return functions


def to_schema(node: dict) -> dict:
    """A BFCL parameter doc as JSON schema, recursively."""
    out: dict[str, Any] = {k: v for k, v in node.items() if k in SCHEMA_KEYS}
    kind = JSON_TYPE.get(node.get("type", "string"), "string")
    out["type"] = kind
    if node.get("type") == "float":
        out["description"] = (out.get("description", "") + " This is a float type value.").strip()
    if kind == "object" and "properties" in node:
        out["properties"] = {k: to_schema(v) for k, v in node["properties"].items()}
        if node.get("required"):
            out["required"] = list(node["required"])
    if kind == "array" and isinstance(node.get("items"), dict):
        out["items"] = to_schema(node["items"])
    return out


def tool_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]


def to_tools(functions: list[dict]) -> tuple[list[ToolSpec], dict[str, str]]:
    """Native tools for FC mode, and the map from exposed name back to the BFCL name."""
    specs, names = [], {}
    for fn in functions:
        params = dict(fn.get("parameters") or {})
        params.setdefault("properties", {})
        params["type"] = "dict"
        exposed = tool_name(fn["name"])
        names[exposed] = fn["name"]
        specs.append(ToolSpec(function=FunctionSpec(
            name=exposed, description=fn.get("description", ""), parameters=to_schema(params))))
    return specs, names


@lru_cache(maxsize=1)
def official_prompts() -> dict[str, str]:
    """The prompt-mode texts of the official harness, read from its wheel (they
    are benchmark data, like the questions) so our prompt mode matches the
    leaderboard's. The file defines string constants only."""
    from agentforge.harnesses.bfcl.data import bfcl_package_dir

    namespace: dict[str, Any] = {}
    path = bfcl_package_dir() / "constants" / "default_prompts.py"
    exec(compile(path.read_text(), str(path), "exec"), {"__builtins__": {}}, namespace)
    return {k: v for k, v in namespace.items() if isinstance(v, str)}


def prompt_system(functions: list[dict]) -> str:
    # The official pipeline formats the docs with Python's repr, not JSON; so do we.
    return official_prompts()["DEFAULT_SYSTEM_PROMPT"].format(functions=functions)


def with_system_prompt(messages: list[dict], functions: list[dict]) -> list[Message]:
    """Prompt mode: the function docs go in the system prompt; an entry's own
    system message is appended to ours."""
    system = prompt_system(functions)
    out = [Message.model_validate(m) for m in messages]
    if out and out[0].role == "system":
        out[0] = Message.system(f"{system}\n\n{out[0].content}")
    else:
        out.insert(0, Message.system(system))
    return out


def added_functions_message(functions: list[dict], mode: str) -> Message:
    """The user turn that announces held-out functions (miss_func category)."""
    prompts = official_prompts()
    if mode == "fc":
        return Message.user(prompts["DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC"])
    return Message.user(prompts["DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING"].format(functions=functions))
