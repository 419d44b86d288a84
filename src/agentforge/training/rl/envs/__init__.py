"""RL environments: tasks, a rollout against any Backend, and a reward.

An environment is the RL view of a harness (the harness contract's data +
environment + grader): `tasks(split)` gives its train or validation tasks,
never a benchmark's test split; `rollout(task, backend, n, sampling)` runs n
episodes of one task with the policy and grades each.
"""

from __future__ import annotations

from agentforge.training.rl.envs.base import Environment, RLTask

__all__ = ["Environment", "RLTask"]
