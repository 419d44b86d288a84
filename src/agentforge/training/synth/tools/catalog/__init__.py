"""The function families the procedural generator draws from.

A family is one task a tool can do (e.g. "convert a recipe's servings"),
written compactly: its name as words, a description, one or more ways a user
names the task, and its parameters as `name|kind|phrase|description[|default]`
(`?name` marks it optional; `phrase` is how a query states the value, `{}`
standing for it; a boolean's phrase is `when true/when false`). Names, schemas
and queries are rendered from it in many styles (see ../schema.py and
../phrasing.py). Everything here is written for this project; no benchmark's
functions are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentforge.training.synth.tools.values import Kind, parse_kind


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    phrase: str
    desc: str
    optional: bool = False
    default: Any = None

    @property
    def label(self) -> str:
        """How the assistant names the value when asking for it."""
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Family:
    id: str
    domain: str
    words: tuple[str, ...]  # the function name, as words
    desc: str
    tasks: tuple[str, ...]  # imperative phrases: "convert a temperature"
    params: tuple[Param, ...]
    module: str  # a namespace some name styles prefix

    @property
    def required(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.optional)


def parse_param(spec: str) -> Param:
    fields = spec.split("|")
    if len(fields) not in (4, 5):
        raise ValueError(f"parameter spec {spec!r}: want name|kind|phrase|description[|default]")
    name, kind, phrase, desc = (f.strip() for f in fields[:4])
    optional = name.startswith("?")
    default = None
    if len(fields) == 5:
        try:
            default = json.loads(fields[4])
        except ValueError:
            default = fields[4].strip()
    if "{}" not in phrase and "/" not in phrase:
        raise ValueError(f"parameter spec {spec!r}: the phrase needs {{}} (or true/false halves for a boolean)")
    return Param(name.lstrip("?"), parse_kind(kind), phrase, desc, optional, default)


def fam(domain: str, name: str, desc: str, tasks: str, *params: str, module: str = "") -> Family:
    words = tuple(name.split())
    return Family(
        id=f"{domain}.{'_'.join(words)}", domain=domain, words=words, desc=desc,
        tasks=tuple(t.strip() for t in tasks.split("|")), params=tuple(parse_param(p) for p in params),
        module=module or domain)


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    from agentforge.training.synth.tools.catalog import (everyday, home, leisure, money, nature, science, services,
                                                         tech, world)

    out = [f for mod in (science, money, everyday, tech, world, home, services, nature, leisure) for f in mod.FAMILIES]
    ids = [f.id for f in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate family ids: {sorted(dupes)}")
    return tuple(out)
