"""The two sources other branches add to this package plug in by module:
`episodes` (generate_episodes(rng, n) -> records, the multi_turn shape) and
`teacher` (async synthesize_with_teacher(backend, n, *, seed, samples, progress)).
Until those branches are merged the modules do not exist here, so these tests
install stand-ins with the agreed signatures (test doubles, said so) and check
that the generator and the command route through them, validate and filter."""

import asyncio
import json
import sys
import types

import pytest

from agentforge.training.synth.tools.build import ToolsOptions, synthesize_tools
from agentforge.training.synth.tools.generate import generate

TOOL = {"type": "function", "function": {"name": "ledger_balance", "description": "Balance.", "parameters": {
    "type": "object", "properties": {"account": {"type": "string"}}, "required": ["account"]}}}


def _episode(i: int, bad: bool = False) -> dict:
    call = {"id": "c1", "type": "function", "function": {"name": "ledger_balance",
                                                         "arguments": json.dumps({"account": f"A{i}"})}}
    return {"messages": [
        {"role": "user", "content": f"What's left in account A{i}?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c9" if bad else "c1", "content": "{\"balance\": 12}"},
        {"role": "assistant", "content": "It holds 12."}], "tools": [TOOL], "meta": {"shape": "multi_turn"}}


@pytest.fixture
def episodes_module(monkeypatch):
    module = types.ModuleType("agentforge.training.synth.tools.episodes")

    def generate_episodes(rng, n):
        for i in range(n):
            yield _episode(i, bad=(i == 0))  # the first is broken: it must be dropped
    module.generate_episodes = generate_episodes
    monkeypatch.setitem(sys.modules, "agentforge.training.synth.tools.episodes", module)


def test_the_multi_turn_shape_comes_from_the_episodes_module(episodes_module):
    records = list(generate(40, seed=0, mix={"simple": 0.5, "multi_turn": 0.5}))
    multi = [r for r in records if r["tools"] == [TOOL]]
    assert len(multi) == 20 and "account A0" not in json.dumps(multi)


def test_teacher_mode_validates_and_filters_the_teacher_records(monkeypatch, tmp_path):
    from agentforge.harnesses.bfcl.data import load_entries

    bfcl_question = load_entries("simple")[0]["question"][0][0]["content"]
    module = types.ModuleType("agentforge.training.synth.tools.teacher")
    seen = {}

    async def synthesize_with_teacher(backend, n, *, seed, samples, progress):
        seen.update(backend=backend, n=n, seed=seed, samples=samples)
        bfcl = _episode(2)
        bfcl["messages"][0]["content"] = bfcl_question
        return [_episode(1), _episode(0, bad=True), bfcl], {"asked": n, "kept": 3}
    module.synthesize_with_teacher = synthesize_with_teacher
    monkeypatch.setitem(sys.modules, "agentforge.training.synth.tools.teacher", module)

    class Backend:
        closed = False

        async def aclose(self):
            Backend.closed = True

    async def make_backend(spec):
        assert spec == "scripted:teacher"
        return Backend()
    monkeypatch.setattr("agentforge.models.make_model", make_backend)

    out = tmp_path / "t.jsonl"
    report = asyncio.run(synthesize_tools(ToolsOptions(n=3, out=out, teacher="scripted:teacher", samples=2,
                                                       token_sample=0, progress=False)))
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["messages"][0]["content"] for r in kept] == ["What's left in account A1?"]
    assert report["invalid"] == 1 and report["contamination"]["dropped_query_ngram"] == 1
    assert report["teacher_stats"] == {"asked": 3, "kept": 3} and seen["samples"] == 2 and Backend.closed
