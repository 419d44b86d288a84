"""τ-bench's train split as an RL environment: gold earns 1, doing nothing earns 0, no test task is offered.

The agent and user are test doubles (tests/harnesses/taubench/scripted.py: a
gold agent that makes the task's gold calls, an agent that only apologizes, a
user that names its task), wrapped to carry token ids; the orchestrator,
environment and grading are the official ones.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("loguru")

from agentforge.harnesses.taubench import package  # noqa: E402
from agentforge.runtime.messages import Sampling  # noqa: E402
from agentforge.training.rl.envs.taubench import TauTrain  # noqa: E402

from tests.harnesses.taubench.scripted import apologizing_agent, gold_agent, scripted_user  # noqa: E402

from .scripted import WithTokenIds  # noqa: E402

SAMPLING = Sampling(logprobs=True, extra_body={"return_token_ids": True})


def env_and_tasks(domain: str, count: int):
    tasks = [t.data["task"] for t in TauTrain(user=None, domains=(domain,)).tasks("train")]
    env = TauTrain(user=scripted_user(tasks), domains=(domain,))
    return env, env.tasks("train")[:count], tasks


@pytest.mark.parametrize("domain", ["retail", "airline"])
def test_the_gold_agent_earns_1_with_a_turn_per_agent_call(domain):
    env, chosen, tasks = env_and_tasks(domain, 2)
    for task in chosen:
        rollouts = asyncio.run(env.rollout(task, WithTokenIds(gold_agent(tasks)), 2, SAMPLING))
        assert [r.reward for r in rollouts] == [1.0, 1.0], [r.info for r in rollouts]
        assert all(not r.truncated and r.turns and r.turns[0].completion_ids for r in rollouts)
        gold_calls = [a for a in task.data["task"].evaluation_criteria.actions or [] if a.requestor == "assistant"]
        assert len(rollouts[0].turns) == len(gold_calls) + 1  # each gold call, then its final words


def test_a_do_nothing_agent_earns_0():
    env, chosen, _ = env_and_tasks("retail", 2)
    for task in chosen:
        [rollout] = asyncio.run(env.rollout(task, WithTokenIds(apologizing_agent()), 1, SAMPLING))
        assert rollout.reward == 0.0 and not rollout.truncated, rollout.info


def test_the_gold_agent_that_stops_one_call_short_earns_0():
    env, chosen, tasks = env_and_tasks("retail", 1)
    [rollout] = asyncio.run(env.rollout(chosen[0], WithTokenIds(gold_agent(tasks, drop_last=True)), 1, SAMPLING))
    assert rollout.reward == 0.0


@pytest.mark.parametrize("domain", package.DOMAINS)
def test_train_tasks_are_the_official_train_split_and_none_is_a_test_task(domain):
    env = TauTrain(user=None, domains=(domain,))
    train = {t.id.split("/", 1)[1] for t in env.tasks("train")}
    assert train == {t.id for t in package.load_domain_tasks(domain, "train")}
    assert not train & {t.id for t in package.load_domain_tasks(domain, "test")}
    for split in ("test", "base", "valid"):
        with pytest.raises(KeyError):
            env.tasks(split)


def test_valid_holds_out_part_of_train():
    env = TauTrain(user=None, domains=("airline",), valid_every=5)
    train, valid = {t.id for t in env.tasks("train")}, {t.id for t in env.tasks("valid")}
    assert len(valid) == len(package.load_domain_tasks("airline", "train")) // 5 and not train & valid
