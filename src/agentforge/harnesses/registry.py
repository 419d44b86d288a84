"""The registered harnesses, by name. Adding a harness is one line here (its
folder holds the rest: a `Harness` instance and an `options` function, see
`harnesses.contract` and `harnesses.command`). Entries are "module:attribute"
strings, imported when used, so `agent --help` stays light."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from agentforge.harnesses.command import BenchRequest
    from agentforge.harnesses.contract import Harness


class Registration(NamedTuple):
    harness: str  # its Harness instance
    options: str  # the `agent bench NAME` options function -> BenchRequest


HARNESSES = {
    "bfcl": Registration("agentforge.harnesses.bfcl.bench:HARNESS", "agentforge.harnesses.bfcl.options:options"),
    "swebench": Registration("agentforge.harnesses.swebench.bench:HARNESS",
                             "agentforge.harnesses.swebench.options:options"),
    "taubench": Registration("agentforge.harnesses.taubench.bench:HARNESS",
                             "agentforge.harnesses.taubench.options:options"),
    "aider": Registration("agentforge.harnesses.aider.bench:HARNESS", "agentforge.harnesses.aider.options:options"),
}


def _load(where: str):
    module, attribute = where.split(":")
    return getattr(import_module(module), attribute)


def _registration(name: str) -> Registration:
    try:
        return HARNESSES[name]
    except KeyError:
        raise ValueError(f"no harness named {name!r}; known: {', '.join(HARNESSES)}") from None


def get_harness(name: str) -> "Harness":
    return _load(_registration(name).harness)


def get_options(name: str) -> "Callable[..., BenchRequest]":
    return _load(_registration(name).options)
