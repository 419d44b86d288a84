"""Multi-task RL as a step schedule over environments (the paper: 3 tool-use steps : 1 SWE step).

`parse("tools:3,swe:1")` -> [("tools", 3), ("swe", 1)]: tasks are drawn in
that cycle (tools, tools, tools, swe, tools, ...), each environment from its
own seeded, endless shuffle. One position counts every draw, so a resumed run
continues every environment's stream where it was.
"""

from __future__ import annotations

from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.rollout import TaskStream


def parse(schedule: str) -> list[tuple[str, int]]:
    out = []
    for part in schedule.split(","):
        name, _, weight = part.strip().partition(":")
        try:
            steps = int(weight or "1")
        except ValueError:
            steps = 0
        if not name or steps < 1:
            raise ValueError(f"--schedule takes ENV:STEPS,... (e.g. tools:3,swe:1), not {schedule!r}")
        out.append((name, steps))
    if len({name for name, _ in out}) != len(out):
        raise ValueError(f"--schedule names an environment twice: {schedule!r}")
    return out


class MixedStream:
    def __init__(self, tasks: dict[str, list[RLTask]], schedule: list[tuple[str, int]], seed: int,
                 position: int = 0) -> None:
        self.cycle = [name for name, steps in schedule for _ in range(steps)]
        self.position = position
        done, rest = divmod(position, len(self.cycle))
        self.streams = {name: TaskStream(tasks[name], seed + i,
                                         done * self.cycle.count(name) + self.cycle[:rest].count(name))
                        for i, (name, _) in enumerate(schedule)}

    def next(self) -> RLTask:
        name = self.cycle[self.position % len(self.cycle)]
        self.position += 1
        task = self.streams[name].next()
        return RLTask(task.id, task.kind, task.data, env=name)


def training_stream(config, position: int):
    """The run's environments (by name) and its task stream, continued at `position`."""
    from agentforge.training.rl.envs.registry import make_environment

    schedule = parse(config.schedule)
    envs = {name: make_environment(name, config) for name, _ in schedule}
    stream = MixedStream({name: env.tasks("train") for name, env in envs.items()}, schedule, config.seed, position)
    return envs, stream
