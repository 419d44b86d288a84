"""The names an endpoint's models answer to, and the state `/health` reports for each.

A served model is named by `--name`, else by its backend (`SmolLM2-135M-Instruct-int8`).
It also answers to the spec it was started with (`embedded:int8`), so that the
string a user typed into `agent serve -m` works as the model name: those are
the aliases. A spec two served models share, or one that is itself another
model's name, is no alias (it would be ambiguous).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from agentforge.runtime.backends.base import Backend


def spec_aliases(served: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """{spec: served name} from (served name, the specs it was started from) pairs."""
    pairs = [(name, spec) for name, specs in served for spec in dict.fromkeys(specs)]
    names = {name for name, _ in pairs}
    owners: dict[str, set[str]] = {}
    for name, spec in pairs:
        owners.setdefault(spec, set()).add(name)
    return {spec: next(iter(o)) for spec, o in owners.items()
            if len(o) == 1 and spec not in names}


def model_card(name: str, alias_of: str | None = None) -> dict[str, Any]:
    card = {"id": name, "object": "model", "created": 0, "owned_by": "agentforge"}
    if alias_of is not None:
        card["root"] = alias_of  # as vLLM names what a served name stands for
    return card


def model_cards(backends: Mapping[str, Backend], aliases: Mapping[str, str]) -> list[dict[str, Any]]:
    return [model_card(n) for n in backends] + [model_card(a, to) for a, to in aliases.items()]


def model_state(backend: Backend) -> dict[str, Any]:
    """{"status": "ok" | "degraded" | "down", ...}: a replica pool's replicas are
    counted ("degraded": some down); any other loaded backend is "ok" while served."""
    status = getattr(backend, "status", None)
    if not callable(status):
        return {"status": "ok"}
    pool = status()
    healthy, total = pool["healthy"], len(pool["replicas"])
    state = "ok" if healthy == total else "down" if healthy == 0 else "degraded"
    return {"status": state, **pool}
