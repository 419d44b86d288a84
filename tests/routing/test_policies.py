"""Policies: fixed, random, rule, learned (fit + file), and the llm meta-agent.

The meta-agent's failure paths use tests/fakes/scripted_backend.py (a double
that can be made to answer badly, which a real model cannot be made to do on
cue); its happy path runs on the real embedded model (marked `model`)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from agentforge.routing.features import FEATURES
from agentforge.routing.learned import LearnedPolicy, fit, load_model
from agentforge.routing.meta_agent import MetaAgentPolicy, digest
from agentforge.routing.policy import FixedPolicy, RandomPolicy, RoutingError
from agentforge.routing.rules import RulePolicy
from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.messages import FunctionSpec, Message, ToolSpec
from tests.fakes.scripted_backend import ScriptedBackend

NAMES = ["caller", "single", "chatter"]
ZERO = {f: 0.0 for f in FEATURES}
ASK = [Message.user("What is the weather in Paris?")]
TOOLS = [ToolSpec(function=FunctionSpec(name="get_weather", description="Current weather in a city."))]


def feats(**values) -> dict[str, float]:
    return {**ZERO, **values}


async def test_fixed_and_random():
    assert (await FixedPolicy(NAMES, "single").choose(ASK, None, ZERO)).specialist == "single"
    with pytest.raises(RoutingError, match="unknown specialist 'nobody'.*caller, single, chatter"):
        FixedPolicy(NAMES, "nobody")
    picks = [(await RandomPolicy(NAMES, seed=7).choose(ASK, None, ZERO)).specialist for _ in range(3)]
    assert len(set(picks)) == 1  # a fresh policy with the same seed repeats itself
    policy = RandomPolicy(NAMES, seed=7)
    counts = Counter([(await policy.choose(ASK, None, ZERO)).specialist for _ in range(300)])
    assert set(counts) == set(NAMES) and min(counts.values()) > 60  # uniform-ish per request


async def test_rules_first_match_wins_then_default():
    policy = RulePolicy(NAMES, [("desc_overlap < 0.2 and name_overlap < 0.5", "chatter"),
                                ("conjunctions >= 2", "caller")], default="single")
    chatter = await policy.choose(ASK, None, feats(desc_overlap=0.1, conjunctions=3))
    assert chatter.specialist == "chatter" and chatter.reason.startswith("rule 1:")
    assert (await policy.choose(ASK, None, feats(desc_overlap=0.1, name_overlap=0.9, conjunctions=3))).specialist == "caller"
    default = await policy.choose(ASK, None, feats(desc_overlap=0.5))
    assert default.specialist == "single" and "default" in default.reason


@pytest.mark.parametrize("when, message", [
    ("overlap < 0.2", "unknown feature 'overlap'"),
    ("desc_overlap <> 0.2", "cannot read 'desc_overlap <> 0.2'"),
    ("desc_overlap < 0.2 or n_tools > 1", "cannot read"),
])
def test_bad_rules_fail_at_load_with_the_fix(when, message):
    with pytest.raises(RoutingError, match=message):
        RulePolicy(NAMES, [(when, "chatter")], default="single")


def test_rule_naming_an_unknown_specialist():
    with pytest.raises(RoutingError, match="unknown specialist 'talker'"):
        RulePolicy(NAMES, [("n_tools > 0", "talker")], default="single")


def synthetic(count: int, seed: int):
    """chatter passes when the request has little to do with the tools; otherwise
    caller passes when it joins several asks, single when it does not."""
    rng = random.Random(seed)
    rows, outcomes = [], []
    for _ in range(count):
        overlap, conj = rng.random(), rng.choice([0, 0, 1, 2])
        rows.append(feats(desc_overlap=overlap, conjunctions=conj, n_tools=rng.randint(1, 4),
                          user_chars_log=rng.uniform(2, 6)))
        outcomes.append({"caller": float(overlap >= 0.3 and conj >= 1), "single": float(overlap >= 0.3 and conj == 0),
                         "chatter": float(overlap < 0.3)})
    return rows, outcomes


async def test_learned_policy_recovers_a_clear_pattern_and_survives_its_file(tmp_path):
    rows, outcomes = synthetic(200, seed=1)
    model = fit(rows, outcomes, NAMES, l2=0.1)
    assert model.training["oracle"] == 1.0 and model.training["train_accuracy"] > 0.9
    path = tmp_path / "learned.json"
    model.save(path)
    policy = LearnedPolicy(load_model(path), NAMES)
    test_rows, test_outcomes = synthetic(100, seed=2)
    scores = [o[(await policy.choose(ASK, None, r)).specialist] for r, o in zip(test_rows, test_outcomes)]
    assert sum(scores) / len(scores) > 0.85
    decision = await policy.choose(ASK, None, feats(desc_overlap=0.05))
    assert decision.specialist == "chatter" and decision.details["p"]["chatter"] > 0.5
    assert "predicted pass chance: chatter" in decision.reason
    saved = json.loads(path.read_text())
    assert saved["features"] == list(FEATURES) and set(saved["weights"]) == set(NAMES)


async def test_a_request_the_model_cannot_tell_apart_goes_to_the_fallback():
    rows = [feats()] * 6  # every feature constant: nothing to learn from
    outcomes = [{"caller": 0.0, "single": 1.0, "chatter": 0.0}, {"caller": 1.0, "single": 1.0, "chatter": 0.0}] * 3
    model = fit(rows, outcomes, NAMES)
    assert model.fallback == "single"
    # equal pass rates -> equal probabilities -> the tie goes to the fallback
    tie = fit(rows, [{"caller": 1.0, "single": 1.0, "chatter": 1.0}] * 6, NAMES)
    decision = await LearnedPolicy(tie).choose(ASK, None, feats())
    assert decision.specialist == tie.fallback == "caller" and "tie" in decision.reason


def test_bad_learned_files_say_what_is_wrong(tmp_path):
    path = tmp_path / "p.json"
    with pytest.raises(RoutingError, match="no such file.*agent route learn"):
        load_model(path)
    path.write_text("{not json")
    with pytest.raises(RoutingError, match="not JSON"):
        load_model(path)
    path.write_text(json.dumps({"kind": "rule"}))
    with pytest.raises(RoutingError, match="not a learned policy"):
        load_model(path)
    good = fit([feats(n_tools=1), feats(n_tools=2)], [{"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0}], ["a", "b"])
    broken = {**good.to_json(), "weights": {"a": [0.0]}}
    with pytest.raises(RoutingError, match="do not match"):
        load_model(broken)
    with pytest.raises(RoutingError, match="trained for specialist 'b'"):
        LearnedPolicy(good, ["a", "c"])
    with pytest.raises(RoutingError, match="unknown feature 'colour'"):
        fit([feats()], [{"a": 1.0}], ["a"], features=["colour"])
    with pytest.raises(RoutingError, match="no training examples"):
        fit([], [], ["a"])


DESCRIPTIONS = {"caller": "always calls a tool", "single": "one call", "chatter": "answers in prose"}


async def test_meta_agent_asks_with_a_forced_route_call_and_uses_its_answer():
    meta = ScriptedBackend(lambda m, t, i: ("", [("route", {"specialist": "chatter"})]))
    decision = await MetaAgentPolicy(meta, DESCRIPTIONS, default="single").choose(ASK, TOOLS, ZERO)
    assert (decision.specialist, decision.policy) == ("chatter", "llm")
    [(n, sampling)] = meta.requests
    assert sampling.tool_choice == {"type": "function", "function": {"name": "route"}} and sampling.temperature == 0
    text = digest(ASK, TOOLS, DESCRIPTIONS)
    assert "weather in Paris" in text and "get_weather: Current weather" in text and "- chatter: answers in prose" in text


@pytest.mark.parametrize("reply, why", [
    (("I think chatter.", []), "did not call route"),
    (("", [("route", {"specialist": "poet"})]), "route named 'poet'"),
])
async def test_meta_agent_falls_back_and_says_why(reply, why):
    meta = ScriptedBackend(lambda m, t, i: reply)
    decision = await MetaAgentPolicy(meta, DESCRIPTIONS, default="single").choose(ASK, TOOLS, ZERO)
    assert decision.specialist == "single" and why in decision.reason and decision.details["fallback"]


async def test_meta_agent_model_failure_falls_back():
    class Broken(ScriptedBackend):
        async def complete(self, *a, **k):
            raise BackendError("upstream is down")

    decision = await MetaAgentPolicy(Broken(None), DESCRIPTIONS, default="caller").choose(ASK, TOOLS, ZERO)
    assert decision.specialist == "caller" and "upstream is down" in decision.reason


@pytest.mark.model
async def test_the_real_embedded_meta_agent_always_names_a_specialist(embedded):
    policy = MetaAgentPolicy(embedded, DESCRIPTIONS, default="single", max_tokens=32)
    for messages in (ASK, [Message.user("Tell me a joke about cats.")]):
        decision = await policy.choose(messages, TOOLS, ZERO)
        # the grammar built from the enum leaves the model no way to name anything else
        assert decision.specialist in DESCRIPTIONS and "fallback" not in decision.details, decision.reason
