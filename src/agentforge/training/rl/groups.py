"""Group-normalized advantages, and which groups are worth a gradient.

G rollouts of one prompt form a group; each rollout's advantage is
A = (R - mean) / std over the group's valid rollouts (std as torch.std, the
unbiased estimate, as TRL and DeepSeek compute it). A rollout that hit a limit
is masked: it takes no part in the statistics and gets no loss. A group trains
only if its rewards differ (std > 0: otherwise every advantage is 0 and the
group costs compute for nothing) and its solve rate lies within the configured
range (the paper keeps prompts the model solves sometimes; 0.25-0.75 for code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agentforge.training.rl.sample import Rollout


@dataclass(frozen=True)
class GroupFilter:
    min_solve: float = 0.0  # keep a group when min_solve <= mean reward <= max_solve ...
    max_solve: float = 1.0
    min_valid: int = 2  # ... it has this many unmasked rollouts, and its rewards are not all equal


def advantages(rewards: list[float]) -> list[float]:
    n = len(rewards)
    mean = sum(rewards) / n
    if n < 2:
        return [0.0] * n
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (n - 1))
    if std == 0:
        return [0.0] * n
    return [(r - mean) / std for r in rewards]


def keep_group(group: list[Rollout], rule: GroupFilter) -> str | None:
    """Why the group is dropped, or None when it trains; sets the advantages of a kept group."""
    valid = [r for r in group if not r.truncated]
    if len(valid) < rule.min_valid:
        return "masked"
    rewards = [r.reward for r in valid]
    if max(rewards) == min(rewards):
        return "all_equal"
    solve = sum(rewards) / len(rewards)
    if not rule.min_solve <= solve <= rule.max_solve:
        return "solve_range"
    for r, a in zip(valid, advantages(rewards)):
        r.advantage = a
    for r in group:
        if r.truncated:
            r.advantage = 0.0
    return None
