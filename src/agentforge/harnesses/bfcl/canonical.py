"""Canonical answers for voting: two candidates that make the same calls vote
together even if they order keyword arguments, parallel calls or spell
strings differently."""

from __future__ import annotations

import json
import re
from typing import Any

NO_CALL = "no call"  # a real answer (irrelevance), unlike "" which is no answer at all


def normalize(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value.strip()).lower()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else float(f"{value:.6g}")
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in sorted(value.items())}
    return value


def _call_key(call: dict) -> str:
    return json.dumps([call["name"], normalize(call["arguments"])], sort_keys=True)


def canonical_calls(calls: list[dict] | None) -> str:
    """One turn's calls ({"name", "arguments"}); parallel calls are unordered."""
    if not calls:
        return NO_CALL
    return "[" + ",".join(sorted(_call_key(c) for c in calls)) + "]"


def canonical_turns(turns: list[list[list[dict]]]) -> str:
    """A multi-turn episode: per turn, the ordered steps' calls."""
    return json.dumps([[canonical_calls(step) for step in turn if step] for turn in turns])
