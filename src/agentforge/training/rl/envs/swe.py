"""The SWE environment: `agent train synth swe` instances as RL tasks, graded like `agent bench swebench`.

One rollout is the code agent of `agent bench swebench` (runtime/coding, via
harnesses/swebench/agent_run.run_agent) with the policy as its model, on a
fresh checkout of the instance in the sandbox, for at most `max_steps` model
calls. Every model call is a Turn, read from the agent's Completions in memory.

Reward 1 iff the run ended submit-ready (the agent submitted, with a non-empty
patch) and that patch resolves the instance under our SWE-bench grading
(harnesses/swebench/evaluate.py: a fresh checkout, the patch applied, the
instance's eval script, which puts the test files back, and `grade_log`). The
agent's workspace is thrown away: nothing the policy ran or printed during the
rollout is read by the grader, only its patch.

Splits: "train" = the instances of `agent train synth swe` (runs/swe-synth-train),
"valid" = the held-out ones (runs/swe-synth-heldout); each directory holds
instances.jsonl and repos/ (the mirror). Never a benchmark's test split.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.sample import Rollout, turn_of

DATA = {"train": "runs/swe-synth-train", "valid": "runs/swe-synth-heldout"}
TRUNCATED = ("step_limit", "context_exhausted", "time_limit", "model_error")  # masked from the loss


class SweInstances:
    name = "swe"

    def __init__(self, data: dict[str, str | Path] | None = None, sandbox: str = "bwrap", max_steps: int = 30,
                 context_tokens: int = 32_768, command_timeout: float = 60.0, max_seconds: float | None = 900.0,
                 eval_timeout: float = 600.0, action_format: str = "text") -> None:
        """`data`: split -> a directory with instances.jsonl and repos/ (default: DATA, under the cwd)."""
        self.data = {k: Path(v) for k, v in (data or DATA).items()}
        self.sandbox, self.max_steps, self.context_tokens = sandbox, max_steps, context_tokens
        self.command_timeout, self.max_seconds, self.eval_timeout = command_timeout, max_seconds, eval_timeout
        self.action_format = action_format

    def tasks(self, split: str) -> list[RLTask]:
        from agentforge.harnesses.swebench.instances import load_instances

        if split not in self.data:
            raise KeyError(f"the SWE environment has no {split!r} split (it has {', '.join(self.data)})")
        root = self.data[split]
        return [RLTask(i.instance_id, "swe", {"instance": i, "repos": str(root / "repos")})
                for i in load_instances(root / "instances.jsonl")]

    async def rollout(self, task: RLTask, backend: Backend, n: int, sampling: Sampling) -> list[Rollout]:
        return list(await asyncio.gather(*(self._episode(task, backend, sampling) for _ in range(n))))

    async def _episode(self, task: RLTask, backend: Backend, sampling: Sampling) -> Rollout:
        from agentforge.harnesses.swebench.agent_run import run_agent
        from agentforge.harnesses.swebench.evaluate import evaluate
        from agentforge.harnesses.swebench.repos import RepoSource
        from agentforge.runtime.coding.loop import CodingLimits

        instance = task.data["instance"]
        repos = RepoSource(mirror=Path(task.data["repos"]))
        result = await run_agent(instance, backend, repos, sandbox=self.sandbox, sampling=sampling,
                                 limits=CodingLimits(max_steps=self.max_steps, context_tokens=self.context_tokens,
                                                     max_seconds=self.max_seconds,
                                                     command_timeout=self.command_timeout),
                                 action_format=self.action_format)
        turns = [turn_of(c) for c in result.completions]
        info: dict = {"kind": "swe", "status": result.status, "steps": result.steps, "patch": result.patch}
        resolved = False
        if result.submitted and result.patch.strip():
            graded = await evaluate(instance, result.patch, kind=self.sandbox, repos=repos,
                                    timeout=self.eval_timeout)
            resolved = graded.resolved
            info["eval"] = graded.detail()
        return Rollout(task.id, turns, float(resolved), truncated=result.status in TRUNCATED, info=info)
