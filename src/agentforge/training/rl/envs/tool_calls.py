"""Single-turn tool-call decisions as RL tasks ("calls"): the BFCL-shaped records of
`agent train synth tools` (one function, a choice among several, parallel calls, several
functions in parallel, and no fitting function), graded by the step-wise reward: exactly the
gold calls (any order when parallel), or a text answer where no offered function fits.

Why: every SFT model of the training issue lay on one line between BFCL AST and irrelevance;
data mixing moved along it. Here a group whose G answers split between calling and answering
gives that decision an advantage of its own, and a wrong value or count scores 0 as in BFCL.

Records are drawn per split from seeds no SFT recipe uses, and the records that overlap BFCL v3
(a function name, or an 8-word run of a question) are dropped, as for the SFT data.
"""

from __future__ import annotations

from typing import Callable

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.envs.tool_episodes import step_rollouts
from agentforge.training.rl.sample import Rollout

SEEDS = {"train": 8001, "valid": 8002, "test": 8003}
# BFCL's four AST shapes and its irrelevance, the refusals given the largest share (the decision
# the SFT models lose first); "missing" (asking back) is left out: BFCL's entries state their values.
MIX = {"simple": 0.15, "multiple": 0.2, "parallel": 0.15, "parallel_multiple": 0.15, "irrelevant": 0.35}
KIND = "call"


class ToolCalls:
    name = "calls"

    def __init__(self, records: int = 400, mix: dict[str, float] | None = None,
                 seeds: dict[str, int] | None = None, accept: Callable[[dict], bool] | None = None) -> None:
        """`accept`: the record filter (default: the BFCL v3 contamination filter)."""
        self.records, self.mix, self.seeds, self.accept = records, mix or MIX, seeds or SEEDS, accept

    def tasks(self, split: str) -> list[RLTask]:
        from agentforge.training.synth.tools.generate import generate

        accept = self.accept
        if accept is None:
            from agentforge.training.synth.tools.contamination import ContaminationFilter, bfcl_index

            accept = ContaminationFilter(bfcl_index()).keep
        out = []
        for i, record in enumerate(generate(self.records, seed=self.seeds[split], mix=self.mix, accept=accept)):
            at = next(j for j, m in enumerate(record["messages"]) if m["role"] == "assistant")
            out.append(RLTask(f"calls-{split}-{i}", KIND, {"record": record, "at": at,
                                                           "shape": record.get("meta", {}).get("shape")}))
        return out

    async def rollout(self, task: RLTask, backend: Backend, n: int, sampling: Sampling) -> list[Rollout]:
        return await step_rollouts(task, task.data["record"], task.data["at"], backend, n, sampling)
