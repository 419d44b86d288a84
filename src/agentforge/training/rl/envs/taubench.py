"""τ-bench (τ²) as an RL environment: the official `train` split, simulated and graded as `agent bench taubench`.

Tasks are the package's `train` split of each domain (harnesses/taubench/package.py);
never `test`, and never `base` (the leaderboard's tasks, which hold the test ones).
`valid_every=k` holds every k-th train task out as "valid" (then not in "train").

One rollout is one official simulation (harnesses/taubench/simulate.py: tau2's
orchestrator, environment, agent and user simulator) with the policy as the
agent's LLM and `user` (any Backend) as the user's. Every agent model call is a
Turn. Reward = tau2's official grade (harnesses/taubench/official.py `grade`):
1 iff it is a success. A simulation cut by the step limit, or by a model that
failed (a backend error such as the context limit, or the user model), is
truncated: masked from the loss. An agent that keeps sending empty replies or
too many bad tool calls is graded 0, not masked.
"""

from __future__ import annotations

import asyncio
import itertools
import threading

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.base import RLTask
from agentforge.training.rl.sample import Rollout, turn_of

MASKED = ("max_steps", "user_error")  # and agent_error from a backend failure (see _truncated)


class TauTrain:
    name = "taubench"

    def __init__(self, user: Backend, domains: tuple[str, ...] = ("retail", "airline", "telecom"),
                 user_sampling: Sampling | None = None, max_steps: int | None = None, max_errors: int | None = None,
                 seed: int | None = None, valid_every: int = 0) -> None:
        from agentforge.harnesses.taubench import package

        for domain in domains:
            package.check_domain(domain)
        self.user, self.domains, self.valid_every = user, tuple(domains), valid_every
        self.user_sampling = user_sampling or Sampling(temperature=package.OFFICIAL_TEMPERATURE, top_p=1.0,
                                                       max_tokens=512)
        self.max_steps = max_steps or package.OFFICIAL_MAX_STEPS
        self.max_errors = max_errors or package.OFFICIAL_MAX_ERRORS
        self._seeds = itertools.count(package.OFFICIAL_SEED if seed is None else seed)

    def tasks(self, split: str) -> list[RLTask]:
        from agentforge.harnesses.taubench.package import load_domain_tasks

        if split not in ("train", "valid") or (split == "valid" and not self.valid_every):
            raise KeyError(f"the τ-bench environment has no {split!r} split: it trains on the official train "
                           "split only (valid: pass valid_every)")
        out = []
        for domain in self.domains:
            for i, task in enumerate(load_domain_tasks(domain, "train")):
                held_out = bool(self.valid_every) and i % self.valid_every == self.valid_every - 1
                if held_out == (split == "valid"):
                    out.append(RLTask(f"{domain}/{task.id}", "simulation", {"domain": domain, "task": task}))
        return out

    async def rollout(self, task: RLTask, backend: Backend, n: int, sampling: Sampling) -> list[Rollout]:
        from agentforge.harnesses.taubench.bench import trial_seeds

        seeds = [trial_seeds(next(self._seeds), 1)[0] for _ in range(n)]
        return list(await asyncio.gather(*(self._one(task, backend, sampling, trial, seed)
                                           for trial, seed in enumerate(seeds))))

    async def _one(self, task: RLTask, backend: Backend, sampling: Sampling, trial: int, seed: int) -> Rollout:
        from agentforge.harnesses.taubench.official import grade, is_success
        from agentforge.harnesses.taubench.simulate import ModelCaller, Simulation, Transcript, run_simulation

        loop = asyncio.get_running_loop()
        abandoned = threading.Event()
        transcript = Transcript()
        agent = ModelCaller("agent", backend, sampling, loop, abandoned, transcript)
        user = ModelCaller("user", self.user, self.user_sampling, loop, abandoned)
        sim = Simulation(domain=task.data["domain"], task=task.data["task"], trial=trial, seed=seed,
                         max_steps=self.max_steps, max_errors=self.max_errors,
                         agent_llm=getattr(backend, "name", "policy"), user_llm=getattr(self.user, "name", "user"))

        def simulate_and_grade():
            outcome = run_simulation(sim, agent, user)
            return outcome, grade(sim.domain, sim.task, outcome.run)

        try:
            outcome, reward_info = await asyncio.to_thread(simulate_and_grade)
        except BaseException:
            abandoned.set()  # cancelled or failed: the thread stops at its next model call
            raise
        termination = getattr(outcome.run.termination_reason, "value", str(outcome.run.termination_reason))
        reward = float(reward_info.reward)
        return Rollout(task.id, [turn_of(c) for c in transcript.completions], float(is_success(reward)),
                       truncated=_truncated(termination, outcome.error),
                       info={"kind": "simulation", "termination": termination, "official_reward": reward,
                             "messages": len(outcome.run.messages), "error": outcome.error})


def _truncated(termination: str, error: str | None) -> bool:
    if termination in MASKED:
        return True
    return termination == "agent_error" and "an empty reply" not in (error or "")  # simulate._ask's words
