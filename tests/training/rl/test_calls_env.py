"""The "calls" environment: single-turn BFCL-shaped tasks graded by the step-wise reward.
The scripted backends stand in for a model; what is under test is the tasks and their reward."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentforge.training.rl.envs.tool_calls import KIND, ToolCalls
from agentforge.training.synth.tools.contamination import ContaminationFilter, bfcl_index, normalize_name

from .scripted import Scripted, completion, gold_turn

SAMPLING = None


@pytest.fixture(scope="module")
def tasks():
    return ToolCalls(records=40).tasks("train")


def reward(task, policy) -> float:
    [rollout] = asyncio.run(ToolCalls().rollout(task, Scripted(policy), 1, SAMPLING))
    assert rollout.info["kind"] == KIND
    return rollout.reward


def test_tasks_are_fixed_per_split_cover_the_bfcl_shapes_and_stop_before_the_gold_turn(tasks):
    again = ToolCalls(records=40).tasks("train")
    assert [t.data["record"] for t in tasks] == [t.data["record"] for t in again]
    assert len({t.id for t in tasks}) == len(tasks) == 40
    assert {t.data["shape"] for t in tasks} == {"simple", "multiple", "parallel", "parallel_multiple", "irrelevant"}
    for t in tasks:
        messages = t.data["record"]["messages"]
        assert messages[t.data["at"]]["role"] == "assistant"
        assert all(m["role"] != "assistant" for m in messages[: t.data["at"]])
    valid = {json.dumps(t.data["record"]["messages"][: t.data["at"]]) for t in ToolCalls(records=40).tasks("valid")}
    assert not valid & {json.dumps(t.data["record"]["messages"][: t.data["at"]]) for t in tasks}


def test_the_gold_turn_earns_1_and_the_wrong_decision_earns_0(tasks):
    for t in tasks:
        gold = t.data["record"]["messages"][t.data["at"]]
        assert reward(t, lambda k, m: gold_turn(gold)) == 1.0, t.data["shape"]
        if gold.get("tool_calls"):
            assert reward(t, lambda k, m: completion("I cannot help with that.")) == 0.0
            first = gold["tool_calls"][0]["function"]
            wrong = {**json.loads(first["arguments"]), "unasked_extra": 1}
            assert reward(t, lambda k, m: completion(None, [(first["name"], wrong)])) == 0.0
        else:  # no offered function fits: any call is wrong
            name = t.data["record"]["tools"][0]["function"]["name"]
            assert reward(t, lambda k, m: completion(None, [(name, {})])) == 0.0


def test_parallel_calls_count_in_any_order_but_all_must_be_there(tasks):
    t = next(t for t in tasks if t.data["shape"] == "parallel")
    calls = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
             for c in t.data["record"]["messages"][t.data["at"]]["tool_calls"]]
    assert len(calls) > 1
    assert reward(t, lambda k, m: completion(None, calls[::-1])) == 1.0
    assert reward(t, lambda k, m: completion(None, calls[:-1])) == 0.0


def test_no_task_carries_bfcl_data_and_the_filter_is_what_keeps_it_out(tasks):
    index = bfcl_index()
    flt = ContaminationFilter(index)
    assert all(flt.keep(t.data["record"]) for t in tasks)
    assert not any(normalize_name(tool["function"]["name"]) in index.names
                   for t in tasks for tool in t.data["record"]["tools"])
    seen = []  # the environment asks its filter about every record it keeps
    kept = ToolCalls(records=10, accept=lambda r: seen.append(r) or len(seen) % 2 == 0).tasks("train")
    assert len(kept) == 10 and len(seen) >= 20


def test_validation_covers_each_procedural_environment_of_the_schedule(tmp_path):
    from agentforge.training.rl.config import RlConfig
    from agentforge.training.rl.loop import valid_tasks

    def envs(schedule):
        config = RlConfig(model="embedded", out=tmp_path, schedule=schedule, valid_calls=6, valid_episodes=2)
        return [(env.name, {t.kind for t in tasks}) for env, tasks in valid_tasks(config)]

    assert envs("tools:1") == [("tools", {"episode", "step"})]
    assert envs("calls:1") == [("calls", {KIND})]
    assert envs("calls:1,tools:1") == [("calls", {KIND}), ("tools", {"episode", "step"})]
    assert envs("swe:1") == [("tools", {"episode", "step"})]  # no cheap held-out set there
