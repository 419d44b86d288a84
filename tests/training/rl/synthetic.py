"""Synthetic rollouts with fixed token ids (seeded): the trainer's input without running any engine."""

from __future__ import annotations

import random

from agentforge.training.rl.sample import Rollout, Turn


def synthetic_rollouts(seed: int = 0, groups: int = 3, group_size: int = 4, vocab: int = 1000) -> list[Rollout]:
    rng = random.Random(seed)
    out = []
    for g in range(groups):
        prompt = [rng.randrange(vocab) for _ in range(rng.randint(20, 60))]
        for i in range(group_size):
            turns, context = [], list(prompt)
            for _ in range(rng.randint(1, 2)):  # one or two turns; the second extends the first
                generated = [rng.randrange(vocab) for _ in range(rng.randint(4, 12))]
                turns.append(Turn(list(context), generated, [-rng.uniform(0.05, 4.0) for _ in generated]))
                context += generated + [rng.randrange(vocab) for _ in range(5)]  # a tool result
            advantage = rng.choice([-1.5, -0.5, 0.5, 1.5])
            out.append(Rollout(f"g{g}", turns, reward=float(advantage > 0), advantage=advantage,
                               truncated=(g == 0 and i == 0)))  # one masked rollout
    return out
