"""`agent bench swebench`: SWE-bench on the harness contract, graded like the official harness.

Tasks are instances (category = repository, `limit` = the first instances of
the file); an attempt gets a patch and grades it; the headline is the resolved
rate over all instances. Resume, journal and report are the shared ones.

Where each candidate patch comes from (`source`):
  agent        the code agent, in a sandbox on a fresh checkout (the benchmark proper)
  gold         the instance's own patch (checks an instance set: must be 100%)
  empty        no patch (must be 0%)
  predictions  an official predictions file (re-grades another system's output)

A run directory holds config.json, journal.jsonl, trajectories/, logs/<instance>/<sample>.log,
predictions.jsonl (official format: sample 0 of every instance) plus
predictions/sample-<k>.jsonl, summary.json, report.txt and report.png.

A candidate that cannot be graded here (an official row without its docker image,
a corrupt mirror, a sandbox that fails) is an error, never a graded failure: the
report counts it unscored, predictions keep its patch, and summary.json gives
graded_candidates / error_candidates. `agent bench swebench` exits 1 when no
candidate could be graded.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from agentforge.harnesses.config import RUN_IDENTITY, RunConfig
from agentforge.harnesses.contract import Harness, Records
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.run import run_harness
from agentforge.harnesses.runner import RunStats, Task, run_samples
from agentforge.harnesses.swebench.evaluate import evaluate
from agentforge.harnesses.swebench.instances import Instance, load_instances
from agentforge.harnesses.swebench.predictions import Prediction, load_predictions, write_predictions
from agentforge.harnesses.swebench.repos import RepoSource
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding.patches import normalize_patch
from agentforge.selectors.candidate import Candidate

SOURCES = ("agent", "gold", "empty", "predictions")
IDENTITY = RUN_IDENTITY + ("source", "predictions", "sandbox", "max_steps", "format", "eval_timeout")


@dataclass
class SweConfig(RunConfig):
    instances: str = ""  # limit: the first instances of this file
    ids: list[str] | None = None
    source: str = "agent"
    predictions: str | None = None
    sandbox: str = "auto"
    repos: str | None = None
    repo_url: str | None = None
    max_tokens: int = 1024  # per model call
    max_steps: int = 200  # the paper's scaffold
    context_tokens: int = 65_536  # the paper's 64k context
    format: str = "text"  # text: THOUGHT + one bash block; tools: bash + str_replace_editor
    command_timeout: float = 120.0  # per agent command
    eval_timeout: float = 1800.0
    concurrency: int = 2
    task_timeout: float | None = 7200.0

    def repo_source(self) -> RepoSource:
        return RepoSource(mirror=Path(self.repos) if self.repos else None, url=self.repo_url)


def check_config(config: SweConfig) -> None:
    if config.source not in SOURCES:
        raise ValueError(f"--source must be one of {', '.join(SOURCES)}, not {config.source!r}")
    if config.source == "predictions" and not config.predictions:
        raise ValueError("--source predictions needs --predictions FILE")
    if config.source != "agent" and config.n != 1:
        raise ValueError(f"--source {config.source} gives one patch per instance: use -n 1")


def load_tasks(config: SweConfig) -> list[Task]:
    return [Task(id=i.instance_id, category=i.repo, data=i)
            for i in load_instances(config.instances, ids=config.ids, limit=config.limit)]



class SweAttempt:
    """The runner's attempt: get a patch (agent / gold / empty / predictions), grade it, journal it."""

    def __init__(self, config: SweConfig, run_dir: Path, backend: Backend | None,
                 predictions: dict[str, Prediction] | None = None, log=None):
        self.config, self.run_dir, self.backend = config, run_dir, backend
        self.predictions = predictions or {}
        self.repos = config.repo_source()
        self.log = log

    async def __call__(self, task: Task, samples: list[int]) -> list[SampleResult]:
        # One candidate's failure (a broken environment, an unreachable repository)
        # is that candidate's error record; its siblings keep their results.
        return await run_samples(task, samples, lambda s: self._one(task, s))

    async def _one(self, task: Task, sample: int) -> SampleResult:
        instance: Instance = task.data
        started = time.monotonic()
        signals: dict = {}
        trajectory = None
        agent: dict = {}
        if self.config.source == "gold":
            patch = instance.patch
        elif self.config.source == "empty":
            patch = ""
        elif self.config.source == "predictions":
            pred = self.predictions.get(instance.instance_id)
            patch = (pred.model_patch or "") if pred else ""
        else:
            from agentforge.harnesses.swebench.agent_run import solve_instance

            outcome = await solve_instance(instance, self.backend, self.config, self.repos, sample,
                                           self.run_dir, log=self.log)
            patch, signals, trajectory = outcome.patch, outcome.signals, outcome.trajectory
            agent = {"agent_status": outcome.status, "agent_steps": outcome.steps}
        agent_seconds = time.monotonic() - started
        common = dict(task_id=instance.instance_id, sample=sample, category=instance.repo,
                      answer=normalize_patch(patch), output=patch, trajectory=trajectory, **signals)
        try:
            result = await evaluate(instance, patch, kind=self.config.sandbox, repos=self.repos,
                                    timeout=self.config.eval_timeout, log=self.log)
        except Exception as exc:  # noqa: BLE001 - cannot be graded here: an error, unscored, patch kept
            return SampleResult(status="error", correct=None, error=f"not graded: {type(exc).__name__}: {exc}",
                                detail=agent | {"agent_seconds": round(agent_seconds, 2)},
                                seconds=time.monotonic() - started, **common)
        log_path = self.run_dir / "logs" / safe_name(instance.instance_id) / f"{sample}.log"
        await asyncio.to_thread(_write, log_path, result.log)
        detail = result.detail() | agent | {"agent_seconds": round(agent_seconds, 2),
                                            "log": str(log_path.relative_to(self.run_dir))}
        return SampleResult(correct=result.resolved, detail=detail, seconds=time.monotonic() - started, **common)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class SweHarness(Harness):
    name = "swebench"
    config_class = SweConfig
    identity = IDENTITY

    def check(self, config: SweConfig) -> None:
        check_config(config)

    def load_tasks(self, config: SweConfig) -> list[Task]:
        return load_tasks(config)

    def needs_backend(self, config: SweConfig) -> bool:
        return config.source == "agent"

    def attempt(self, config: SweConfig, run_dir: Path, backend: Backend | None, console=None) -> SweAttempt:
        predictions = None
        if config.source == "predictions":
            predictions = {p.instance_id: p for p in load_predictions(config.predictions)}
        return SweAttempt(config, run_dir, backend, predictions, log=console.print if console else None)

    def candidate(self, record: SampleResult) -> Candidate:
        # A candidate that could not be graded is unscored (None), not a graded failure.
        ok = record.status == "ok"
        return Candidate(answer=record.answer if ok else "", token_logprobs=record.token_logprobs,
                         token_confidences=record.token_confidences, correct=bool(record.correct) if ok else None,
                         text=str(record.output or ""))

    def title(self, config: SweConfig) -> str:
        what = config.model if config.source == "agent" else f"{config.source} patches"
        return f"SWE-bench · {Path(config.instances).name} · {what} · {config.sandbox} · N={config.n}"

    def write_outputs(self, run_dir: Path, config: SweConfig, records: Records) -> None:
        write_predictions_files(run_dir, config, records)

    def where(self, run_dir: Path) -> str:
        return f"predictions in {run_dir}/predictions.jsonl · report in {run_dir}/"

    def unusable(self, summary: dict) -> str | None:
        if nothing_graded(summary):
            return (f"nothing could be graded: all {summary['error_candidates']} candidate(s) errored "
                    "(see the errors above); the scores are not a result")
        return None

    def summary_extra(self, records: Records) -> dict:
        return {"graded_candidates": sum(r.status == "ok" for rs in records.values() for r in rs),
                "error_candidates": sum(r.status == "error" for rs in records.values() for r in rs)}


HARNESS = SweHarness()


async def run_swebench(config: SweConfig, run_dir: Path, backend: Backend | None = None,
                       console: Console | None = None, progress: bool = True) -> tuple[RunStats, dict]:
    """Run (or resume) a SWE-bench run; writes predictions and the report. Returns (stats, summary)."""
    return await run_harness(HARNESS, config, run_dir, backend, console, progress)


def model_name(config: SweConfig) -> str:
    return config.model if config.source == "agent" else f"{config.source}"


def write_predictions_files(run_dir: Path, config: SweConfig, grouped: Records) -> None:
    for k in range(config.n):
        # The patch as produced, graded or not (an error before any patch existed leaves "").
        preds = [Prediction(instance_id=tid, model_name_or_path=model_name(config),
                            model_patch=r.output if isinstance(r.output, str) else "")
                 for tid, rs in grouped.items() for r in rs if r.sample == k]
        write_predictions(Path(run_dir) / "predictions" / f"sample-{k}.jsonl", preds)
        if k == 0:
            write_predictions(Path(run_dir) / "predictions.jsonl", preds)


def nothing_graded(summary: dict) -> bool:
    """Every candidate errored (or none ran): the run has no score to give."""
    return summary.get("graded_candidates", 0) == 0
