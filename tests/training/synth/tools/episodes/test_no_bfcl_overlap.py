"""No BFCL v3 function name (exact or modulo case/underscores) and no 8-word
run of a BFCL query appears in the episodes. Reads the BFCL data the bench
already cached; skipped where it was never downloaded (no network in tests)."""

from __future__ import annotations

import json
import random
import re

import pytest

from agentforge.harnesses.bfcl.data import WHEEL
from agentforge.training.synth.tools.episodes import ENVS, generate_episodes

DATA = WHEEL.root() / "bfcl_eval" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="BFCL data not cached (run `agent bench bfcl` once)")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.fixture(scope="module")
def bfcl():
    names, grams = set(), set()
    for path in list(DATA.glob("BFCL_v3_*.json")) + list((DATA / "multi_turn_func_doc").glob("*.json")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            functions = entry.get("function") if "function" in entry else [entry] if "parameters" in entry else []
            for f in functions if isinstance(functions, list) else []:
                names.add(_norm(f["name"].split(".")[-1]))
            for turn in entry.get("question") or []:
                for m in turn if isinstance(turn, list) else [turn]:
                    if isinstance(m, dict) and isinstance(m.get("content"), str):
                        grams |= _grams(m["content"])
    assert len(names) > 1000
    return names, grams


def test_no_tool_name_is_a_bfcl_function_name(bfcl):
    names, _ = bfcl
    ours = {n for env in ENVS.values() for t in env.tools().values() for n in t.names}
    assert not sorted(n for n in ours if _norm(n) in names)


def test_no_user_turn_shares_an_8_word_run_with_a_bfcl_query(bfcl):
    _, grams = bfcl
    shared = [m["content"] for r in generate_episodes(random.Random(5), 400) for m in r["messages"]
              if m["role"] == "user" and _grams(m["content"]) & grams]
    assert not shared
