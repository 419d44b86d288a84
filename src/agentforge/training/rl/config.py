"""RlConfig: every setting of one `agent train rl` run.

The defaults suit the embedded SmolLM2-135M on a 2-core CPU: short turns,
groups of 4, 8 groups per update, full fine-tuning at 1e-6... 2e-6.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODES = ("disaggregated", "colocated")


@dataclass
class RlConfig:
    model: str  # an HF checkpoint folder (the SFT's final/) or "embedded"
    out: Path
    mode: str = "disaggregated"  # rollouts in their own process (bounded staleness) or generate-then-train
    schedule: str = "tools:1"  # environments and their steps per cycle, e.g. "tools:3,swe:1" (schedule.py)
    kinds: tuple[str, ...] = ("episode", "step")  # task kinds of the procedural tool-use environment
    swe_steps: int = 30  # "swe" environment: agent steps per episode (data: runs/swe-synth-train, -heldout)
    user_model: str = "embedded"  # "taubench" environment: the simulated user's model spec
    episodes: int = 300  # training episodes generated (each also gives its step tasks)
    episode_share: float = 1.0  # of the training records that also train as whole episodes
    oversample: int = 4  # draw at most oversample x groups_per_update groups for one update
    calls: int = 400  # "calls" environment: single-turn training records (BFCL's shapes)
    valid_calls: int = 80  # its validation records, when the schedule names it
    valid_episodes: int = 40
    valid_steps: int = 80  # step tasks in the validation set (the first ones)
    group_size: int = 4  # G rollouts per task
    groups_per_update: int = 8
    updates: int = 40
    lr: float = 2e-6
    minibatches: int = 1  # optimizer steps per pass over an update's batch (groups kept whole)
    ppo_epochs: int = 1  # passes over the batch; more than one step in all lets the clip bind
    eps_low: float = 0.2
    eps_high: float = 0.28
    tis_cap: float = 2.0
    max_staleness: int = 1  # disaggregated: drop groups from policies older than this many updates
    min_solve: float = 0.0
    max_solve: float = 1.0
    max_tokens: int = 256  # per model turn
    max_calls: int = 8  # model turns per episode
    concurrency: int = 8  # tasks in flight in the rollout engine
    micro_tokens: int = 4096
    valid_every: int = 5  # updates
    save_every: int = 5
    seed: int = 0
    rollout_threads: int = 1  # disaggregated: torch threads of the rollout process (the trainer gets the rest)
    guard_window: int = 5  # collapse guard (guard.py); 0 turns it off
    guard_reward_drop: float = 0.3
    guard_entropy_floor: float = 0.02
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues."""
        out = asdict(self)
        for key in ("out", "updates", "progress", "valid_every", "save_every", "concurrency", "rollout_threads",
                    "oversample", "guard_window", "guard_reward_drop", "guard_entropy_floor"):
            out.pop(key)
        out["kinds"] = list(self.kinds)
        return out

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"--mode must be one of {MODES}, not {self.mode!r}")
        if self.group_size < 2:
            raise ValueError("--group-size must be at least 2: advantages are relative to the group")
        if not 0 <= self.min_solve <= self.max_solve <= 1:
            raise ValueError("--solve-range must satisfy 0 <= low <= high <= 1")
        if not (0 < self.eps_low < 1 and self.eps_high > 0 and self.tis_cap >= 1):
            raise ValueError("need 0 < eps_low < 1, eps_high > 0 and tis_cap >= 1")
        if self.minibatches < 1 or self.ppo_epochs < 1:
            raise ValueError("--minibatches and --ppo-epochs must be at least 1")
        if self.max_staleness < 0:
            raise ValueError("--max-staleness must be >= 0")
        from agentforge.training.rl.envs.registry import ENVIRONMENTS
        from agentforge.training.rl.schedule import parse

        unknown = [name for name, _ in parse(self.schedule) if name not in ENVIRONMENTS]
        if unknown:
            raise ValueError(f"--schedule names unknown environments {unknown}; known: {sorted(ENVIRONMENTS)}")
        bad = set(self.kinds) - {"episode", "step"}
        if bad or not self.kinds:
            raise ValueError(f"--kinds takes episode and/or step, not {sorted(bad)}")
