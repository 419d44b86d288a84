"""`agent bench taubench`: τ²-bench (retail, airline, telecom) on the harness contract, graded officially.

A task is one official τ² task (id `DOMAIN/ID`, category = its domain); its
candidates are the trials (`-n`), each a full simulation with the trial's seed
from the official scheme (random.seed(300), then one randint per trial). Each
runs tau2's orchestrator, agent and user simulator with our backends as the
LLMs (`simulate.py`) and is graded by tau2's evaluator (`official.py`).

A run directory holds config.json, journal.jsonl, simulations/DOMAIN/TASK/TRIAL.json
(a tau2 SimulationRun each, reward included), results/DOMAIN.json (a τ² Results
file: `tau2 evaluate-trajs` re-grades it), summary.json, report.txt and report.png.
The report's headline is the success rate per domain; pass^k (k = 1..n, the
unbiased C(c,k)/C(n,k)) and the average reward come with it.

Anything other than the official protocol (max_steps 200, max_errors 10, a
user at temperature 0) is labelled "custom", as the leaderboard does.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentforge.harnesses.config import RUN_IDENTITY, RunConfig
from agentforge.harnesses.contract import Harness, Records
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.runner import Task, run_samples
from agentforge.harnesses.taubench import package
from agentforge.harnesses.taubench.official import grade, is_success, results_document
from agentforge.harnesses.taubench.simulate import ModelCaller, Simulation, Transcript, run_simulation
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.git import try_git
from agentforge.runtime.messages import Sampling
from agentforge.runtime.trajectory import write_atomic
from agentforge.selectors.candidate import Candidate

IDENTITY = RUN_IDENTITY + ("domains", "split", "task_ids", "user_model", "user_temperature", "user_max_tokens",
                           "max_steps", "max_errors")
FAILED = ("agent_error", "user_error")


@dataclass
class TauConfig(RunConfig):
    domains: list[str] = field(default_factory=lambda: ["retail"])
    split: str = "base"  # base (the leaderboard's), train or test; never train on test
    task_ids: list[str] | None = None  # official task ids (limit: the first tasks of each domain)
    user_model: str = ""  # the user simulator: any backend spec
    user_temperature: float = package.OFFICIAL_TEMPERATURE
    user_max_tokens: int = 512
    max_steps: int = package.OFFICIAL_MAX_STEPS
    max_errors: int = package.OFFICIAL_MAX_ERRORS
    seed: int = package.OFFICIAL_SEED
    temperature: float = package.OFFICIAL_TEMPERATURE  # tau2's agent default
    top_p: float = 1.0
    max_tokens: int = 1024  # per agent message
    concurrency: int = 4
    task_timeout: float | None = 3600.0

    def custom(self) -> list[str]:
        """How this run departs from the official protocol (empty: it does not)."""
        out = []
        if self.max_steps != package.OFFICIAL_MAX_STEPS:
            out.append(f"max_steps {self.max_steps}")
        if self.max_errors != package.OFFICIAL_MAX_ERRORS:
            out.append(f"max_errors {self.max_errors}")
        if self.user_temperature != package.OFFICIAL_TEMPERATURE:
            out.append(f"user temperature {self.user_temperature}")
        return out

    def user_sampling(self) -> Sampling:
        return Sampling(temperature=self.user_temperature, top_p=1.0, max_tokens=self.user_max_tokens)


def trial_seeds(seed: int, trials: int) -> list[int]:
    """The official per-trial seeds (tau2 run: random.seed(seed); randint(0, 1e6) per trial)."""
    rng = random.Random(seed)
    return [rng.randint(0, 1_000_000) for _ in range(trials)]


def check_config(config: TauConfig) -> None:
    for domain in config.domains:
        package.check_domain(domain)
    if config.split not in package.SPLITS:
        raise ValueError(f"--split must be one of {', '.join(package.SPLITS)}, not {config.split!r}")
    if not config.user_model:
        raise ValueError("τ-bench needs a user simulator: pass --user-model SPEC (a strong model behind any "
                         "OpenAI-compatible URL, e.g. openai:gpt-4.1@https://api.openai.com/v1)")
    if config.max_steps < 1 or config.max_errors < 1:
        raise ValueError("--max-steps and --max-errors must be at least 1")


def load_tasks(config: TauConfig) -> list[Task]:
    """The official tasks of each domain's split; --task-id picks ids (bare, or DOMAIN/ID), --limit the first."""
    tasks, found = [], set()
    for domain in config.domains:
        chosen = package.load_domain_tasks(domain, config.split)
        if config.task_ids:
            ids = {t.id for t in chosen}
            picked = {given: bare for given in config.task_ids
                      if (bare := given.removeprefix(f"{domain}/")) in ids}
            found |= set(picked)
            chosen = [t for t in chosen if t.id in picked.values()]
        if config.limit is not None:
            chosen = chosen[:config.limit]
        tasks += [Task(id=f"{domain}/{t.id}", category=domain, data=t) for t in chosen]
    missing = [i for i in config.task_ids or [] if i not in found]
    if missing:
        raise ValueError(f"no task {', '.join(missing)} in the {config.split} split of {', '.join(config.domains)}")
    if not tasks:
        raise ValueError("no τ-bench task selected: check --domain, --split and --task-id")
    return tasks


def simulation_path(run_dir: Path, task_id: str, trial: int) -> Path:
    domain, tid = task_id.split("/", 1)
    return run_dir / "simulations" / domain / safe_name(tid) / f"{trial}.json"


class TauAttempt:
    """The runner's attempt: one simulation per requested trial, in worker threads, graded officially."""

    def __init__(self, config: TauConfig, run_dir: Path, agent: Backend, user: Backend | None):
        self.config, self.run_dir, self.agent = config, run_dir, agent
        self._user, self._own_user = user, user is None
        self._user_lock = asyncio.Lock()
        self.pool = ThreadPoolExecutor(max_workers=min(64, config.concurrency * config.n),
                                       thread_name_prefix="tau2-sim")

    async def user(self) -> Backend:
        async with self._user_lock:
            if self._user is None:
                from agentforge.models import make_model

                self._user = await make_model(self.config.user_model)
        return self._user

    async def aclose(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._own_user and self._user is not None:
            await self._user.aclose()

    async def __call__(self, task: Task, samples: list[int]) -> list[SampleResult]:
        user = await self.user()
        seeds = trial_seeds(self.config.seed, max(samples) + 1)
        return await run_samples(task, samples, lambda s: self._trial(task, s, seeds[s], user))

    async def _trial(self, task: Task, trial: int, seed: int, user: Backend) -> SampleResult:
        domain = task.category
        loop = asyncio.get_running_loop()
        abandoned = threading.Event()
        transcript = Transcript()
        agent_call = ModelCaller("agent", self.agent, self.config.sampling(), loop, abandoned, transcript)
        user_call = ModelCaller("user", user, self.config.user_sampling(), loop, abandoned)
        sim = Simulation(domain=domain, task=task.data, trial=trial, seed=seed, max_steps=self.config.max_steps,
                         max_errors=self.config.max_errors, agent_llm=self.config.model,
                         user_llm=self.config.user_model)
        started = time.monotonic()
        try:
            return await loop.run_in_executor(self.pool, self._simulate_and_grade, task, sim, agent_call,
                                              user_call, transcript, started)
        except BaseException:
            abandoned.set()  # cancelled or failed: the thread stops at its next model call
            raise

    def _simulate_and_grade(self, task: Task, sim: Simulation, agent: ModelCaller, user: ModelCaller,
                            transcript: Transcript, started: float) -> SampleResult:
        outcome = run_simulation(sim, agent, user)
        simulated = time.monotonic()
        reward_info = grade(sim.domain, sim.task, outcome.run)
        outcome.run.reward_info = reward_info
        graded = time.monotonic()
        path = simulation_path(self.run_dir, task.id, sim.trial)
        write_atomic(path, outcome.run.model_dump_json(indent=1))
        reward = float(reward_info.reward)
        logprobs, confidences = transcript.signals()
        db = reward_info.db_check
        detail = {"reward": reward, "termination": _value(outcome.run.termination_reason),
                  "db_match": db.db_match if db is not None else None,
                  "communicate": [c.met for c in reward_info.communicate_checks or []],
                  "messages": len(outcome.run.messages), "agent_calls": len(transcript.completions),
                  "simulation_seconds": round(simulated - started, 2), "grading_seconds": round(graded - simulated, 3),
                  "seed": sim.seed}
        if outcome.error:
            detail["model_error"] = outcome.error
        return SampleResult(task_id=task.id, sample=sim.trial, category=sim.domain, correct=is_success(reward),
                            answer=outcome.db_hash or "", output={"termination": detail["termination"],
                                                                  "reward": reward},
                            detail=detail, token_logprobs=[round(x, 4) for x in logprobs],
                            token_confidences=[round(x, 4) for x in confidences], tokens=transcript.completion_tokens,
                            seconds=time.monotonic() - started,
                            trajectory=str(path.relative_to(self.run_dir)))


def _value(reason: Any) -> str:
    return getattr(reason, "value", str(reason))


def _git_commit() -> str:
    """AgentForge's commit, for the Results file's info block (tau2 records its own there)."""
    return try_git("rev-parse", "HEAD", cwd=Path(__file__).parent) or "unknown"


def write_results_files(run_dir: Path, config: TauConfig, records: Records) -> None:
    """results/DOMAIN.json: a τ² Results file per domain, from the simulations the journal names."""
    from tau2.data_model.simulation import SimulationRun

    sampling = config.sampling()
    for domain in config.domains:
        tasks = package.load_domain_tasks(domain, config.split)
        runs_by_task: dict[str, list] = {}
        for task_id, rs in records.items():
            if not task_id.startswith(domain + "/"):
                continue
            for r in rs:
                if r.status == "ok" and r.trajectory and (run_dir / r.trajectory).is_file():
                    runs_by_task.setdefault(task_id.split("/", 1)[1],
                                            []).append(SimulationRun.model_validate_json(
                                                (run_dir / r.trajectory).read_text()))
        if not runs_by_task:
            continue
        tasks = [t for t in tasks if t.id in runs_by_task]
        runs = [run for t in tasks for run in sorted(runs_by_task[t.id], key=lambda s: s.trial)]
        document = results_document(
            domain, tasks, runs, num_trials=config.n, max_steps=config.max_steps, max_errors=config.max_errors,
            seed=config.seed, agent_llm=config.model,
            agent_args={"temperature": sampling.temperature, "top_p": sampling.top_p,
                        "max_tokens": sampling.max_tokens},
            user_llm=config.user_model,
            user_args={"temperature": config.user_temperature, "max_tokens": config.user_max_tokens},
            git_commit=_git_commit())
        write_atomic(run_dir / "results" / f"{domain}.json", document.model_dump_json(indent=1))


class TauHarness(Harness):
    name = "taubench"
    config_class = TauConfig
    identity = IDENTITY
    pass_hat = True

    def __init__(self, user: Backend | None = None):
        self.user = user  # a started user-simulator backend (tests); else --user-model is opened per run

    def check(self, config: TauConfig) -> None:
        check_config(config)

    def load_tasks(self, config: TauConfig) -> list[Task]:
        return load_tasks(config)

    def attempt(self, config: TauConfig, run_dir: Path, backend: Backend | None, console=None) -> TauAttempt:
        user = self.user if self.user is not None else backend if config.user_model == config.model else None
        return TauAttempt(config, run_dir, backend, user=user)

    def candidate(self, record: SampleResult) -> Candidate:
        # The answer is the DB the trial left behind: a vote picks the most common outcome.
        ok = record.status == "ok"
        return Candidate(answer=record.answer if ok else "", token_logprobs=record.token_logprobs,
                         token_confidences=record.token_confidences, correct=bool(record.correct),
                         text=json.dumps(record.output))

    def title(self, config: TauConfig) -> str:
        custom = config.custom()
        protocol = f"custom ({', '.join(custom)})" if custom else "official protocol"
        return (f"τ²-bench {config.split} · {','.join(config.domains)} · agent {config.model} · "
                f"user {config.user_model} · {protocol} · trials={config.n}")

    def write_outputs(self, run_dir: Path, config: TauConfig, records: Records) -> None:
        write_results_files(run_dir, config, records)

    def summary_extra(self, records: Records) -> dict:
        rewards: dict[str, list[float]] = {}
        terminations: dict[str, int] = {}
        for rs in records.values():
            for r in rs:
                if r.status == "ok":
                    rewards.setdefault(r.category, []).append(float(r.detail.get("reward", 0.0)))
                    reason = r.detail.get("termination", "?")
                    terminations[reason] = terminations.get(reason, 0) + 1
        return {"data": package.DATA_LABEL,
                "avg_reward": {d: round(sum(v) / len(v), 4) for d, v in sorted(rewards.items())},
                "terminations": dict(sorted(terminations.items())),
                "simulations": sum(len(v) for v in rewards.values()),
                "error_simulations": sum(r.status == "error" for rs in records.values() for r in rs)}

    def where(self, run_dir: Path) -> str:
        return (f"τ² results in {run_dir}/results/ (re-grade: tau2 evaluate-trajs {run_dir}/results/DOMAIN.json) "
                f"· report in {run_dir}/")

    def unusable(self, summary: dict) -> str | None:
        terminations = summary.get("terminations", {})
        total = sum(terminations.values())
        failed = sum(terminations.get(r, 0) for r in FAILED)
        if total and failed == total:
            return (f"every simulation ({total}) ended with a model error (agent_error / user_error): see "
                    "model_error in the journal; the scores are not a result")
        return None


HARNESS = TauHarness()
