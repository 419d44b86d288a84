"""Every base task of retail, airline and telecom, through the harness, re-graded by the official `tau2 evaluate-trajs`
in the package's own venv (built on first use; see official_venv.py): the rewards must be identical,
simulation by simulation. The agent and user are scripted test doubles (no model replays gold actions)."""

from __future__ import annotations

import pytest

from agentforge.harnesses.taubench import package
from agentforge.harnesses.taubench.official_venv import regrade

from tests.harnesses.taubench.conftest import records, run_tau
from tests.harnesses.taubench.scripted import apologizing_agent, gold_agent, gold_pair, scripted_user

BASE = {"retail": 114, "airline": 50, "telecom": 114}


def _doubles(domain: str, tasks, gold: bool):
    """(agent, user, concurrency). Telecom's user acts on its phone between the agent's calls, and its tasks
    share scenarios, so its doubles hand over in the gold order, one conversation at a time."""
    if domain == "telecom":
        agent, user = gold_pair(tasks)
        return (agent if gold else apologizing_agent()), user, 1
    return (gold_agent(tasks) if gold else apologizing_agent()), scripted_user(tasks), 2


def _ours(run_dir) -> dict[tuple[str, int], float]:
    return {(r["task_id"].split("/", 1)[1], r["sample"]): r["detail"]["reward"] for r in records(run_dir)
            if r["status"] == "ok"}


def _regraded(run_dir, domain, out) -> dict[tuple[str, int], float]:
    return regrade(run_dir / "results" / f"{domain}.json", out)


@pytest.mark.slow
@pytest.mark.parametrize("domain", sorted(BASE))
def test_gold_trajectories_score_one_on_every_base_task_and_the_official_tool_agrees(tmp_path, domain):
    tasks = package.load_domain_tasks(domain)
    assert len(tasks) == BASE[domain]
    agent, user, concurrency = _doubles(domain, tasks, gold=True)
    summary = run_tau(tmp_path / "run", agent, user, domains=[domain], concurrency=concurrency)
    ours = _ours(tmp_path / "run")
    assert len(ours) == BASE[domain] and set(ours.values()) == {1.0}, summary
    assert _regraded(tmp_path / "run", domain, tmp_path / "official") == ours


@pytest.mark.slow
@pytest.mark.parametrize("domain", sorted(BASE))
def test_a_do_nothing_agent_gets_exactly_the_official_rewards_task_by_task(tmp_path, domain):
    tasks = package.load_domain_tasks(domain)
    agent, user, concurrency = _doubles(domain, tasks, gold=False)
    run_tau(tmp_path / "run", agent, user, domains=[domain], concurrency=concurrency)
    ours = _ours(tmp_path / "run")
    assert len(ours) == BASE[domain]
    official = _regraded(tmp_path / "run", domain, tmp_path / "official")
    assert official == ours
    if domain != "telecom":  # some tasks need no write: a do-nothing agent passes them
        assert 0 < sum(ours.values()) < len(ours)
