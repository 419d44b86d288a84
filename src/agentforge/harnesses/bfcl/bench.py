"""`agent bench bfcl`: BFCL v3 through the shared runner, scored like the official checker.

A run directory holds config.json, journal.jsonl (one line per candidate),
trajectories/<task>.jsonl, summary.json, report.txt and report.png. Running the
same command again resumes; raising --n adds candidates to a finished run.
"""

from __future__ import annotations

import asyncio
import json
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
from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.runner import RunOptions, RunStats, Task, request_seed, run_tasks
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Completion, Sampling
from agentforge.runtime.trajectory import Trajectory
from agentforge.selectors.candidate import candidate_signals

# What makes two runs comparable; a run directory refuses to mix them.
IDENTITY = ("model", "mode", "decoder", "tool_choice", "temperature", "top_p", "max_tokens", "top_logprobs", "seed", "constrained")
DEFAULT_SELECTORS = ("first", "vote", "avg_logprob", "confidence", "lowest_group", "tail", "bottom10",
                     "weighted_vote_top10", "weighted_vote_top90", "oracle")


@dataclass
class BfclConfig:
    model: str = "embedded"
    mode: str = "fc"  # fc | prompt
    # "official": decode raw text exactly as the official pipeline (leaderboard-comparable);
    # "lenient": the runtime's tolerant parsers, NOT official (scores are not comparable).
    decoder: str = "official"
    # FC single-turn entries only: "required" forces a call (and so fails every
    # irrelevance entry); multi-turn turns must be able to end, so they stay on auto.
    tool_choice: str = "auto"
    categories: list[str] = field(default_factory=lambda: ["non_live"])
    n: int = 1
    limit: int | None = None  # entries per category
    seed: int = 0
    temperature: float = 0.7  # the paper's BFCL settings
    top_p: float = 0.95
    max_tokens: int = 512  # per model call
    top_logprobs: int = 20
    constrained: bool = True  # grammar-constrained tool calls where the backend can
    concurrency: int = 8
    task_timeout: float | None = 900.0
    retries: int = 3
    retry_errors: bool = False
    selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SELECTORS))

    def sampling(self) -> Sampling:
        # The embedded backend constrains "auto" turns on request (plain text or valid calls);
        # other backends get no engine-specific switch (vLLM constrains only forced tool choices).
        extra = {"constrained": self.constrained} if self.model.partition(":")[0] == "embedded" else {}
        return Sampling(temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                        logprobs=self.top_logprobs > 0, top_logprobs=self.top_logprobs, extra_body=extra)


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



async def run_bfcl(config: BfclConfig, run_dir: Path, backend: Backend | None = None,
                   console: Console | None = None, progress: bool = True) -> tuple[RunStats, dict]:
    """Run (or resume) a BFCL run and write its report; returns (stats, summary)."""
    from agentforge.models import make_model

    run_dir = Path(run_dir)
    check_run_dir(run_dir, config)
    tasks = load_tasks(config)
    own = backend is None
    backend = backend or await make_model(config.model)
    try:
        options = RunOptions(n=config.n, concurrency=config.concurrency, task_timeout=config.task_timeout,
                             retries=config.retries, retry_errors=config.retry_errors, progress=progress)
        stats = await run_tasks(tasks, BfclAttempt(backend, config, run_dir), Journal(run_dir / "journal.jsonl"),
                                options, console)
    finally:
        if own:
            await backend.aclose()
    summary = write_bfcl_report(run_dir, config, tasks)
    return stats, summary


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


def write_bfcl_report(run_dir: Path, config: BfclConfig, tasks: list[Task] | None = None) -> dict:
    """Report over the journal; `tasks` limits it to this run's task list."""
    from agentforge.harnesses.report import TaskOutcome, write_report
    from agentforge.selectors.candidate import Candidate

    records = Journal(Path(run_dir) / "journal.jsonl").load()
    wanted = None if tasks is None else {t.id for t in tasks}
    grouped: dict[str, list[SampleResult]] = {}
    for r in sorted(records.values(), key=lambda r: (r.task_id, r.sample)):
        if (wanted is None or r.task_id in wanted) and r.sample < config.n:
            grouped.setdefault(r.task_id, []).append(r)
    outcomes = [
        TaskOutcome(task_id=tid, category=rs[0].category, candidates=[
            Candidate(answer=r.answer if r.status == "ok" else "", token_logprobs=r.token_logprobs,
                      token_confidences=r.token_confidences, correct=bool(r.correct),
                      text=json.dumps(r.output)) for r in rs])
        for tid, rs in grouped.items()
    ]
    choice = f" · tool_choice {config.tool_choice}" if config.mode == "fc" and config.tool_choice != "auto" else ""
    grammar = "" if config.constrained else " · unconstrained"
    title = f"BFCL v3 · {config.model} · {config.mode}{choice}{grammar} · N={config.n}"
    return write_report(outcomes, run_dir, selectors=config.selectors, aggregate=summary_rows, title=title)
