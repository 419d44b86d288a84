"""Multi-turn episodes on stateful tools that really execute.

Each environment (a virtual disk, a bank ledger, a calendar, a shop, a task
tracker, a smart home) is plain Python state with tool methods that validate their
arguments and return JSON results or realistic errors. A scenario scripts a
user goal and a correct assistant policy; every call is executed, the tool
messages are the real outputs, and the episode is kept only if the end state
matches the goal. `replay.py` checks a record against a fresh environment.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator

from agentforge.training.synth.tools.episodes import agenda, disk, home, ledger, shop, tracker
from agentforge.training.synth.tools.episodes.base import ToolEnv

_MODULES = (disk, ledger, agenda, shop, tracker, home)

ENVS: dict[str, type[ToolEnv]] = {}
BY_ENV: dict[str, list[tuple[str, Callable]]] = {}
for _m in _MODULES:
    _env = next(v for v in vars(_m).values() if isinstance(v, type) and issubclass(v, ToolEnv) and v is not ToolEnv)
    ENVS[_env.NAME] = _env
    BY_ENV[_env.NAME] = [(f"{_env.NAME}.{name}", fn) for name, fn in _m.SCENARIOS.items()]
SCENARIOS = [s for scenarios in BY_ENV.values() for s in scenarios]


def generate_episodes(rng: random.Random, n: int) -> Iterator[dict]:
    """`n` episode records, deterministic from `rng`. Scenarios are dealt from a shuffled deck,
    so every scenario appears once per len(SCENARIOS) records.

    An episode whose end state misses its goal is dropped and the scenario
    run again; one that keeps missing is a bug, so we stop with an error.
    """
    deck: list[tuple[str, Callable]] = []
    for _ in range(n):
        if not deck:
            deck = list(SCENARIOS)
            rng.shuffle(deck)
        name, scenario = deck.pop()
        for _attempt in range(_ATTEMPTS):
            episode, reached = scenario(rng)
            if reached:
                yield episode.record(scenario.__name__)
                break
        else:
            raise RuntimeError(f"scenario {name} missed its goal {_ATTEMPTS} times in a row: a bug in its script")


_ATTEMPTS = 20
