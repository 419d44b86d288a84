"""The collapse guard: stop a run whose reward or entropy falls off a cliff.

Multi-task RL needs it (the paper monitored joint RL for collapse): the
guard watches the training rows and stops the run when, over the last
`window` updates, the mean reward fell more than `reward_drop` below the best
such mean so far, the policy entropy stayed below `entropy_floor` (a
policy that stopped exploring), or no group could train at all (every
group's G rewards equal: the sampled answers agree, so there is no
advantage; entropy is not even measured then, since no token trains). `best/final`, the best validation
checkpoint, is the model to keep; the run's checkpoints allow a restart with
other settings from before the fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CollapseGuard:
    window: int = 5
    reward_drop: float = 0.3
    entropy_floor: float = 0.02
    rewards: list[float] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    best: float | None = None
    idle: int = 0  # updates in a row in which no group was kept

    def observe(self, row: dict) -> str | None:
        """Take one update's row; why the run must stop, or None."""
        if "reward" not in row:
            return None
        self.rewards.append(row["reward"])
        if "entropy" in row:  # an update that trained (no entropy: no group was kept)
            self.entropies.append(row["entropy"])
        self.idle = self.idle + 1 if row.get("groups_kept", 1) == 0 else 0
        if self.idle >= self.window:
            return (f"nothing to learn: every group's rewards were equal for {self.idle} updates in a row "
                    "(exploration collapsed, or the tasks are all solved or all failed)")
        if len(self.rewards) < self.window:
            return None
        recent = sum(self.rewards[-self.window:]) / self.window
        self.best = recent if self.best is None else max(self.best, recent)
        if recent < self.best - self.reward_drop:
            return (f"reward collapsed: mean {recent:.3f} over the last {self.window} updates, "
                    f"{self.best - recent:.3f} below the best {self.best:.3f}")
        tail = self.entropies[-self.window:]
        if len(tail) == self.window and max(tail) < self.entropy_floor:
            return f"entropy collapsed: below {self.entropy_floor} for {self.window} updates"
        return None
