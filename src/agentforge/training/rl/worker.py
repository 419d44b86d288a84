"""The disaggregated rollout process: the runtime's engine generating while the trainer trains.

It loads its own embedded engine, streams graded groups into a queue the
trainer consumes, and swaps in new weights whenever the trainer publishes a
version (checked between groups and every 100 ms). The queue is bounded, so
the process never runs more than about one batch ahead of the trainer.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class WorkerSpec:
    model: str
    config: Any  # the run's RlConfig: its environments, schedule, group size, sampling
    start: int  # task stream position


def run_worker(spec: WorkerSpec, weights, groups, stop) -> None:
    """Process entry point (spawned)."""
    threads = spec.config.rollout_threads
    os.environ["AGENTFORGE_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    asyncio.run(_serve(spec, weights, groups, stop))


async def _serve(spec: WorkerSpec, weights, groups, stop) -> None:
    from agentforge.runtime.backends.embedded import EmbeddedBackend
    from agentforge.training.rl.envs.base import RLTask
    from agentforge.training.rl.rollout import rollout_sampling, stream_groups
    from agentforge.training.rl.schedule import training_stream

    config = spec.config
    backend = EmbeddedBackend.load(spec.model, threads=config.rollout_threads,
                                   max_slots=max(16, config.group_size * 2))
    envs, stream = training_stream(config, spec.start)
    loaded = 0

    def sync() -> None:
        nonlocal loaded
        if weights.current_version() != loaded:
            state, loaded = weights.snapshot()
            backend.load_weights(state, loaded)

    parent, main = os.getppid(), asyncio.current_task()

    async def watch() -> None:
        while not stop.is_set():
            if os.getppid() != parent:  # the trainer died (killed): nobody will read what we make
                stop.set()
                main.cancel()
                break
            sync()
            await asyncio.sleep(0.1)

    sync()
    # A request records the version the engine runs when it arrives, and a swap applies at the
    # engine's next step: the first requests must not start before the published weights are in.
    while backend.weights_version != loaded:
        await asyncio.sleep(0.01)
    watcher = asyncio.ensure_future(watch())
    try:
        positions = iter(range(spec.start, 1 << 62))

        def next_task():
            task = stream.next()
            return RLTask(task.id, task.kind, {**task.data, "position": next(positions)}, env=task.env)

        async for group in stream_groups(envs, next_task, backend, config.group_size,
                                         rollout_sampling(config.max_tokens), config.concurrency):
            if stop.is_set():
                break
            item = (group.task.id, group.task.data["position"], group.rollouts, group.seconds)
            while not stop.is_set():
                try:
                    await asyncio.to_thread(groups.put, item, True, 0.5)
                    break
                except Exception:  # queue.Full: the trainer is behind; wait (and keep syncing weights)
                    continue
    finally:
        watcher.cancel()
        await backend.aclose()
