"""Rollouts: G episodes per task against a Backend, streamed as graded groups.

The sampling RL needs: temperature 1 and no top-p/top-k cut, so that the
logprob the engine records (the model's own distribution) is the probability
the token was sampled with; and the prompt ids of every turn.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import Environment, RLTask
from agentforge.training.rl.sample import Rollout

log = logging.getLogger(__name__)


def rollout_sampling(max_tokens: int) -> Sampling:
    return Sampling(temperature=1.0, top_p=1.0, max_tokens=max_tokens, logprobs=True,
                    extra_body={"return_token_ids": True})


def eval_sampling(max_tokens: int) -> Sampling:
    return Sampling(temperature=0.0, max_tokens=max_tokens, logprobs=True, extra_body={"return_token_ids": True})


@dataclass
class Group:
    task: RLTask
    rollouts: list[Rollout]
    seconds: float = 0.0


class TaskStream:
    """An endless, seeded shuffle of the training tasks (each epoch a new order); resumable by position."""

    def __init__(self, tasks: list[RLTask], seed: int, position: int = 0) -> None:
        self.tasks, self.seed, self.position = tasks, seed, position

    def next(self) -> RLTask:
        epoch, i = divmod(self.position, len(self.tasks))
        order = list(range(len(self.tasks)))
        random.Random(self.seed * 1_000_003 + epoch).shuffle(order)
        self.position += 1
        return self.tasks[order[i]]


async def stream_groups(envs: dict[str, Environment], next_task: Callable[[], RLTask], backend: Backend,
                        group_size: int, sampling: Sampling, concurrency: int) -> AsyncIterator[Group]:
    """Groups as they finish, `concurrency` tasks in flight; stops when the consumer stops iterating.
    Each task runs in the environment it names (`RLTask.env`)."""
    loop = asyncio.get_running_loop()

    async def one(task: RLTask) -> Group:
        started = loop.time()
        rollouts = await envs[task.env].rollout(task, backend, group_size, sampling)
        return Group(task, rollouts, loop.time() - started)

    running: set[asyncio.Task] = {asyncio.ensure_future(one(next_task())) for _ in range(concurrency)}
    try:
        while running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                running.add(asyncio.ensure_future(one(next_task())))
                try:
                    yield finished.result()
                except BackendError as e:  # one task's failure is not the run's: log it and go on
                    log.warning("rollout failed: %s", e)
    finally:
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def task_rewards(env: Environment, tasks: list[RLTask], backend: Backend, sampling: Sampling,
                       concurrency: int = 8, done: dict[str, float] | None = None,
                       on_reward: Callable[[str, float], None] | None = None) -> dict[str, float]:
    """One episode per task (greedy with eval_sampling): task id -> reward.

    Tasks already in `done` are not run again (a resumed evaluation);
    `on_reward` hears each new result as it lands, so a journal can keep it.
    """
    sem = asyncio.Semaphore(concurrency)
    rewards: dict[str, float] = {t.id: done[t.id] for t in tasks if done and t.id in done}

    async def one(task: RLTask) -> None:
        async with sem:
            reward = (await env.rollout(task, backend, 1, sampling))[0].reward
        rewards[task.id] = reward
        if on_reward is not None:
            on_reward(task.id, reward)

    await asyncio.gather(*(one(t) for t in tasks if t.id not in rewards))
    return rewards


async def evaluate(env: Environment, tasks: list[RLTask], backend: Backend, sampling: Sampling,
                   concurrency: int = 8) -> dict[str, float]:
    """Mean reward per task kind (one episode per task), plus the count of each kind."""
    rewards = await task_rewards(env, tasks, backend, sampling, concurrency)
    scores: dict[str, list[float]] = {}
    for task in tasks:
        scores.setdefault(task.kind, []).append(rewards[task.id])
    out = {kind: sum(v) / len(v) for kind, v in sorted(scores.items())}
    out.update({f"{kind}_n": float(len(v)) for kind, v in sorted(scores.items())})
    return out
