"""Tools declared in Java or JavaScript, the way BFCL's FC mode shows them:
every parameter is a string holding a literal of the language ("Pass a Java
value of type int as a string."), so the gold arguments are literals too.
A small share of records, for the java/javascript categories' format."""

from __future__ import annotations

import json
from typing import Any

from agentforge.training.synth.tools.catalog import Family
from agentforge.training.synth.tools.values import Kind

HINT = {
    "Python": " The function is written in Python 3 syntax.",
    "Java": " The function is written in Java 8 SDK syntax.",
    "JavaScript": " The function is written in JavaScript syntax.",
}
_DECLARED = {
    "Java": {"integer": "int", "number": "double", "string": "String", "boolean": "boolean", "array": "Array"},
    "JavaScript": {"integer": "integer", "number": "float", "string": "String", "boolean": "Boolean", "array": "array"},
}


def supports(family: Family, language: str) -> bool:
    """Scalars everywhere; JavaScript also takes arrays of scalars (as `[...]` literals)."""
    for p in family.params:
        if p.kind.type == "object" or (p.kind.type == "array" and (language != "JavaScript" or p.kind.items.type in ("array", "object"))):
            return False
    return True


def declared(kind: Kind, language: str) -> str:
    return _DECLARED[language][kind.type]


def note(kind: Kind, language: str) -> str:
    text = f" Pass a {language} value of type {declared(kind, language)} as a string."
    if kind.type == "array" and kind.items is not None:
        text += f" Its elements are of type {declared(kind.items, language)}."
    return text


def literal(value: Any) -> str:
    """A value as a literal of either language, in a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
