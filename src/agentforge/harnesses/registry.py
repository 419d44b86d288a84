"""The registered harnesses, by name. Adding a harness is one line here (its
folder holds the rest). Imported lazily so `agent --help` stays light."""

from __future__ import annotations

from importlib import import_module

from agentforge.harnesses.contract import Harness

HARNESSES = {  # name -> "module:attribute" of its Harness instance
    "bfcl": "agentforge.harnesses.bfcl.bench:HARNESS",
    "swebench": "agentforge.harnesses.swebench.bench:HARNESS",
}


def get_harness(name: str) -> Harness:
    try:
        module, attribute = HARNESSES[name].split(":")
    except KeyError:
        raise ValueError(f"no harness named {name!r}; known: {', '.join(HARNESSES)}") from None
    return getattr(import_module(module), attribute)
