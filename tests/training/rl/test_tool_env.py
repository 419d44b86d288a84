"""The procedural tool-use environment's rewards: gold earns 1, cheating earns 0 (a scripted policy)."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.envs.tool_episodes import ToolEpisodes, canonical_arguments, step_matches
from agentforge.training.synth.tools.episodes import BY_ENV

from .scripted import Scripted, completion, gold_turn, replay_gold

SAMPLING = Sampling(logprobs=True, extra_body={"return_token_ids": True})


def record_of(scenario: str, seed: int = 0) -> dict:
    env, name = scenario.split(".")
    fn = dict(BY_ENV[env])[scenario]
    rng = random.Random(seed)
    while True:
        episode, reached = fn(rng)
        if reached:
            return episode.record(name)


def run(record: dict, backend, kind="episode", at=None, n=1):
    task = RLTask("t", kind, {"record": record, "at": at} if kind == "step" else {"record": record})
    return asyncio.run(ToolEpisodes().rollout(task, backend, n, SAMPLING))


def assistant_turns(record):
    return [m for m in record["messages"] if m["role"] == "assistant"]


SCENARIOS = [name for scenarios in BY_ENV.values() for name, _ in scenarios]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_gold_conversation_earns_1(scenario):
    record = record_of(scenario)
    [rollout] = run(record, replay_gold(record))
    assert rollout.reward == 1.0, rollout.info
    assert len(rollout.turns) == len(assistant_turns(record))


def test_a_write_task_answered_with_a_claim_and_no_call_earns_0():
    record = record_of("ledger.transfer")
    [rollout] = run(record, Scripted(lambda k, m: completion("Done! I transferred the money.")))
    assert rollout.reward == 0.0


def test_a_read_task_answered_without_fetching_the_facts_earns_0():
    """The state is unchanged either way: the reward also needs the gold's successful calls."""
    record = record_of("ledger.history")
    [rollout] = run(record, Scripted(lambda k, m: completion("Your last transactions were a coffee and rent.")))
    assert rollout.reward == 0.0


def test_doing_the_write_twice_earns_0():
    record = record_of("ledger.transfer")
    gold = assistant_turns(record)
    writes = [t for t in gold if t.get("tool_calls") and "amount" in t["tool_calls"][0]["function"]["arguments"]]

    def twice(k, messages):
        if k < len(gold) - 1:
            return gold_turn(gold[k])
        if k == len(gold) - 1:
            return gold_turn(writes[0])  # the transfer again instead of the final answer
        return completion("All done.")

    [rollout] = run(record, Scripted(twice))
    assert rollout.reward == 0.0


def test_a_call_to_a_tool_not_offered_earns_0_even_under_an_alias_the_environment_knows():
    """The environment resolves every alias of a tool; the model may only use the offered name."""
    from agentforge.training.synth.tools.episodes import ENVS

    record = record_of("ledger.transfer")
    env = ENVS[record["meta"]["env"]]
    offered = {t["function"]["name"] for t in record["tools"]}
    gold = assistant_turns(record)

    def alias(k, messages):
        turn = gold_turn(gold[k]) if k < len(gold) else completion("ok")
        for call in turn.tool_calls:
            others = [n for n in env.resolve(call.function.name).names if n not in offered]
            if others:
                call.function.name = others[0]
        return turn

    has_alias = any(n not in offered for t in gold for c in t.get("tool_calls") or []
                    for n in env.resolve(c["function"]["name"]).names)
    assert has_alias
    [rollout] = run(record, Scripted(alias))
    assert rollout.reward == 0.0


def test_malformed_markup_earns_0_even_when_the_state_ends_right():
    record = record_of("ledger.transfer")
    gold = assistant_turns(record)

    def sloppy(k, messages):
        turn = gold_turn(gold[k]) if k < len(gold) else completion("ok")
        if k == 0:
            turn.parse_errors = ["tool call 2: not valid JSON"]
        return turn

    [rollout] = run(record, Scripted(sloppy))
    assert rollout.reward == 0.0


def test_an_episode_past_the_call_limit_is_masked():
    record = record_of("ledger.transfer")
    looping = Scripted(lambda k, m: completion(None, [("nonexistent", {})]))
    [rollout] = run(record, looping)
    assert rollout.truncated and rollout.reward == 0.0 and len(rollout.turns) == ToolEpisodes().max_calls


def test_step_reward_is_exact_match_of_every_call_in_any_order():
    record = record_of("ledger.overview")  # a parallel turn of two different functions
    at = next(i for i, m in enumerate(record["messages"]) if len(m.get("tool_calls") or []) == 2)
    gold = record["messages"][at]
    names = {t["function"]["name"] for t in record["tools"]}
    turn = gold_turn(gold)
    assert step_matches(turn, gold, names)
    turn.tool_calls.reverse()
    assert step_matches(turn, gold, names)  # parallel: any order
    one = gold_turn(gold)
    one.tool_calls.pop()
    assert not step_matches(one, gold, names)  # a missing call
    changed = gold_turn(gold)
    args = json.loads(changed.tool_calls[1].function.arguments)
    key = next(iter(args))
    args[key] = args[key] + 1 if isinstance(args[key], int) else str(args[key]) + "x"
    changed.tool_calls[1].function.arguments = json.dumps(args)
    assert not step_matches(changed, gold, names)  # one field off
    extra = gold_turn(gold)
    args = json.loads(extra.tool_calls[0].function.arguments)
    args["note"] = "x"
    extra.tool_calls[0].function.arguments = json.dumps(args)
    assert not step_matches(extra, gold, names)  # an extra field
    assert not step_matches(completion("Let me check that for you."), gold, names)  # text instead of calls
    cut = gold_turn(gold)
    cut.finish_reason = "length"
    assert not step_matches(cut, gold, names)


def test_step_reward_for_a_text_turn_is_answering_without_a_call():
    record = record_of("ledger.external")  # the gold answers the first request in text, with no call
    at = next(i for i, m in enumerate(record["messages"]) if m["role"] == "assistant")
    gold = record["messages"][at]
    assert not gold.get("tool_calls")
    names = {t["function"]["name"] for t in record["tools"]}
    assert step_matches(completion("I can't pay outside accounts."), gold, names)
    assert not step_matches(completion(None, [("list_accounts", {})]), gold, names)
    assert not step_matches(completion("   "), gold, names)


def test_step_rollouts_grade_each_of_the_n_candidates():
    record = record_of("ledger.history")
    at = next(i for i, m in enumerate(record["messages"]) if m["role"] == "assistant")
    gold = record["messages"][at]
    answers = iter([gold_turn(gold), completion("no idea")])
    rollouts = run(record, Scripted(lambda k, m: next(answers)), kind="step", at=at, n=2)
    assert [r.reward for r in rollouts] == [1.0, 0.0]
    assert all(r.turns[0].completion_ids == [7, 8] for r in rollouts)


def test_numbers_compare_by_value_and_malformed_json_matches_nothing():
    assert canonical_arguments('{"a": 3, "b": [1.0]}') == canonical_arguments({"b": [1], "a": 3.0})
    assert canonical_arguments('{"a": true}') != canonical_arguments('{"a": 1}')
    assert canonical_arguments("{oops") != canonical_arguments("{}")


def test_train_and_valid_tasks_differ():
    env = ToolEpisodes(episodes=20)
    train = {json.dumps(t.data["record"]["messages"]) for t in env.tasks("train") if t.kind == "episode"}
    valid = {json.dumps(t.data["record"]["messages"]) for t in env.tasks("valid") if t.kind == "episode"}
    assert len(train) == 20 and not train & valid
