"""`agent bench bfcl`: BFCL v3 on the harness contract, scored like the official checker.

Tasks are BFCL entries (category = BFCL category, `limit` = entries per
category); an attempt samples, decodes, scores and saves trajectories/<task>/<sample>.json;
the headline rows are the leaderboard's summary formula over the categories run.
The run directory and resume are the shared ones (`harnesses.run`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from agentforge.harnesses.bfcl import canonical
from agentforge.harnesses.bfcl.checker import Verdict
from agentforge.harnesses.bfcl.data import is_multi_turn
from agentforge.harnesses.bfcl.episodes import multi_turn, single_turn
from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.harnesses import rundir
from agentforge.harnesses.config import DEFAULT_SELECTORS as BASE_SELECTORS, RUN_IDENTITY, RunConfig
from agentforge.harnesses.contract import Harness
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.run import run_harness, write_run_report
from agentforge.harnesses.runner import RunStats, Task, request_seed
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Completion, Sampling
from agentforge.runtime.trajectory import Trajectory
from agentforge.selectors.candidate import candidate_signals

# What makes two runs comparable (with the runner's RUN_IDENTITY); a run directory refuses to mix them.
IDENTITY = RUN_IDENTITY + ("mode", "decoder", "tool_choice", "constrained")
DEFAULT_SELECTORS = (*BASE_SELECTORS[:-1], "weighted_vote_top10", "weighted_vote_top90", "oracle")


@dataclass
class BfclConfig(RunConfig):
    mode: str = "fc"  # fc | prompt
    # "official": decode raw text exactly as the official pipeline (leaderboard-comparable);
    # "lenient": the runtime's tolerant parsers, NOT official (scores are not comparable).
    decoder: str = "official"
    # FC single-turn entries only: "required" forces a call (and so fails every
    # irrelevance entry); multi-turn turns must be able to end, so they stay on auto.
    tool_choice: str = "auto"
    categories: list[str] = field(default_factory=lambda: ["non_live"])  # limit: entries per category
    constrained: bool = True  # grammar-constrained tool calls where the backend can
    selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SELECTORS))

    def sampling(self) -> Sampling:
        # The embedded backend constrains "auto" turns on request (plain text or valid calls);
        # other backends get no engine-specific switch (vLLM constrains only forced tool choices).
        extra = {"constrained": self.constrained} if self.model.partition(":")[0] == "embedded" else {}
        return super().sampling().merged(extra_body=extra)


def load_config(run_dir: Path) -> BfclConfig:
    return rundir.load_config(run_dir, BfclConfig)


def check_run_dir(run_dir: Path, config: BfclConfig) -> None:
    rundir.check_run_dir(run_dir, config, IDENTITY, "bfcl")


def load_tasks(config: BfclConfig) -> list[Task]:
    from agentforge.harnesses.bfcl.data import expand_categories, load_answers, load_entries

    tasks, seen = [], set()
    for category in expand_categories(config.categories):
        answers = load_answers(category)
        for index, entry in enumerate(load_entries(category)[: config.limit]):
            task_id = entry["id"] if entry["id"] not in seen else f"{entry['id']}@{index}"  # the data repeat an id
            seen.add(task_id)
            tasks.append(Task(id=task_id, category=category, data=(entry, answers.get(entry["id"]))))
    return tasks


class BfclAttempt:
    """The runner's attempt function: sample, decode, score, save trajectories."""

    def __init__(self, backend: Backend, config: BfclConfig, run_dir: Path):
        self.backend, self.config, self.run_dir = backend, config, run_dir
        self.sampling = config.sampling()

    async def __call__(self, task: Task, samples: list[int]) -> list[SampleResult]:
        if is_multi_turn(task.category):
            return list(await asyncio.gather(*(self._multi_turn(task, s) for s in samples)))
        return await self._single_turn(task, samples)

    async def _single_turn(self, task: Task, samples: list[int]) -> list[SampleResult]:
        entry, answer = task.data
        started = time.monotonic()
        sampling = self.sampling.merged(seed=request_seed(self.config.seed, task.id, samples[0]))
        if self.config.mode == "fc" and self.config.tool_choice != "auto":
            sampling = sampling.merged(tool_choice=self.config.tool_choice)
        outs = await single_turn(self.backend, entry, task.category, self.config.mode, len(samples), sampling,
                                 self.config.decoder)
        seconds = (time.monotonic() - started) / len(samples)
        results = []
        for sample, (decoded, completion) in zip(samples, outs):
            output = decoded.official()
            verdict = score_entry(task.category, entry, answer, output, decoded.error)
            traj = Trajectory(task_id=task.id, messages=[completion.message()], status="done",
                              final_reward=float(verdict.valid), metadata={"sample": sample})
            result = await self._result(task, sample, verdict, [completion], seconds, output,
                                        decoded.error, canonical.canonical_calls(decoded.calls), traj)
            result.detail["raw_text"] = completion.text  # what the official decoder would read
            results.append(result)
        return results

    async def _multi_turn(self, task: Task, sample: int) -> SampleResult:
        entry, answer = task.data
        started = time.monotonic()
        sampling = self.sampling.merged(seed=request_seed(self.config.seed, task.id, sample))
        episode = await multi_turn(self.backend, entry, task.category, self.config.mode, sampling,
                                   MultiTurnEnv(entry), task_id=task.id, decoder=self.config.decoder)
        error = "force-quit after too many steps in one turn" if episode.force_quit else None
        verdict = score_entry(task.category, entry, answer, episode.turns, error)
        episode.trajectory.final_reward = float(verdict.valid)
        episode.trajectory.metadata["sample"] = sample
        return await self._result(task, sample, verdict, episode.completions, time.monotonic() - started,
                                  episode.turns, error, canonical.canonical_turns(episode.turns), episode.trajectory)

    async def _result(self, task: Task, sample: int, verdict: Verdict, completions: list[Completion],
                      seconds: float, output: Any, decode_error: str | None, answer: str,
                      traj: Trajectory) -> SampleResult:
        logprobs, confidences = candidate_signals(completions)
        relative = f"trajectories/{safe_name(task.id)}/{sample}.json"
        traj.finished_at = time.time()
        await asyncio.to_thread(traj.save, self.run_dir / relative)  # fsync'ed: off the event loop
        return SampleResult(
            task_id=task.id, sample=sample, category=task.category, correct=verdict.valid,
            answer=answer, output=output, decode_error=decode_error,
            detail={"error_type": verdict.error_type, "errors": verdict.errors},
            token_logprobs=[round(x, 4) for x in logprobs], token_confidences=[round(x, 4) for x in confidences],
            tokens=sum(c.usage.completion_tokens for c in completions), seconds=seconds, trajectory=relative)



def summary_rows(accuracy: dict[str, float]) -> dict[str, float]:
    """The leaderboard's summary rows that this run can honestly give: a row
    only when every category it averages was run (a missing category would
    count as 0). A run that completes no group gets "mean of categories run"."""
    from agentforge.harnesses.bfcl.data import GROUPS
    from agentforge.harnesses.bfcl.score import overall

    needs = {  # broadest first: the report plots the first row when there is no "overall"
        "overall": GROUPS["all"],
        "non_live": GROUPS["non_live"],
        "live": GROUPS["live"],
        "multi_turn": GROUPS["multi_turn"],
        "simple_ast": ("simple", "java", "javascript"),
        "non_live_ast": tuple(c for c in GROUPS["non_live"] if c != "irrelevance"),
        "live_ast": ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"),
    }
    full = overall(accuracy)
    rows = {name: full[name] for name, cats in needs.items() if all(c in accuracy for c in cats)}
    if not rows and accuracy:
        rows["mean of categories run"] = sum(accuracy.values()) / len(accuracy)
    return rows


class BfclHarness(Harness):
    name = "bfcl"
    config_class = BfclConfig
    identity = IDENTITY
    aggregate = staticmethod(summary_rows)  # the leaderboard's formula over the categories run

    def check(self, config: BfclConfig) -> None:
        for option, value, allowed in (("mode", config.mode, ("fc", "prompt")),
                                       ("decoder", config.decoder, ("official", "lenient")),
                                       ("tool-choice", config.tool_choice, ("auto", "required"))):
            if value not in allowed:
                raise ValueError(f"--{option} must be {' or '.join(allowed)}, not {value!r}")

    def load_tasks(self, config: BfclConfig) -> list[Task]:
        return load_tasks(config)

    def attempt(self, config: BfclConfig, run_dir: Path, backend: Backend | None, console=None) -> BfclAttempt:
        return BfclAttempt(backend, config, run_dir)

    def title(self, config: BfclConfig) -> str:
        choice = f" · tool_choice {config.tool_choice}" if config.mode == "fc" and config.tool_choice != "auto" else ""
        grammar = "" if config.constrained else " · unconstrained"
        return f"BFCL v3 · {config.model} · {config.mode}{choice}{grammar} · N={config.n}"


HARNESS = BfclHarness()


async def run_bfcl(config: BfclConfig, run_dir: Path, backend: Backend | None = None,
                   console: Console | None = None, progress: bool = True) -> tuple[RunStats, dict]:
    """Run (or resume) a BFCL run and write its report; returns (stats, summary)."""
    return await run_harness(HARNESS, config, run_dir, backend, console, progress)


def write_bfcl_report(run_dir: Path, config: BfclConfig, tasks: list[Task] | None = None) -> dict:
    """Report over the journal; `tasks` limits it to this run's task list."""
    return write_run_report(HARNESS, Path(run_dir), config, tasks)
