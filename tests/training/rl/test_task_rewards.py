"""task_rewards: a resumed evaluation runs only the missing tasks and reports each new result once."""

from __future__ import annotations

import asyncio

from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.rollout import task_rewards
from agentforge.training.rl.sample import Rollout


class CountingEnv:
    """An environment whose reward is the task's index parity; it records which tasks ran.
    (A double: what is under test is the bookkeeping, not any environment's grading.)"""

    def __init__(self) -> None:
        self.ran: list[str] = []

    async def rollout(self, task, backend, n, sampling):
        self.ran.append(task.id)
        await asyncio.sleep(0)
        return [Rollout(task.id, [], float(int(task.id.split("-")[1]) % 2)) for _ in range(n)]


TASKS = [RLTask(f"t-{i}", "step", {}) for i in range(6)]


def test_all_tasks_run_once_without_a_journal():
    env = CountingEnv()
    rewards = asyncio.run(task_rewards(env, TASKS, backend=None, sampling=Sampling(), concurrency=2))
    assert sorted(env.ran) == sorted(t.id for t in TASKS)
    assert rewards == {f"t-{i}": float(i % 2) for i in range(6)}


def test_done_tasks_are_reused_and_only_new_results_are_reported():
    env, heard = CountingEnv(), []
    done = {"t-0": 1.0, "t-3": 0.0, "elsewhere": 1.0}  # kept values win, even where a rerun would differ
    rewards = asyncio.run(task_rewards(env, TASKS, backend=None, sampling=Sampling(), concurrency=3,
                                       done=done, on_reward=lambda tid, r: heard.append((tid, r))))
    assert sorted(env.ran) == ["t-1", "t-2", "t-4", "t-5"]
    assert sorted(heard) == [("t-1", 1.0), ("t-2", 0.0), ("t-4", 0.0), ("t-5", 1.0)]
    assert rewards["t-0"] == 1.0 and rewards["t-3"] == 0.0
    assert set(rewards) == {t.id for t in TASKS}  # nothing from outside the task list
