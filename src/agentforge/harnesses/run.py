"""Run any registered harness: tasks x candidates through the shared runner into
the run directory's journal, then the report; and re-score a run directory.

A run directory holds config.json (the settings, checked on every resume),
journal.jsonl (one line per candidate), trajectories/, the harness's own files
(e.g. SWE-bench predictions), summary.json, report.txt and report.png. Running
the same command again resumes; raising n adds candidates to a finished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from rich.console import Console

from agentforge.harnesses import rundir
from agentforge.harnesses.contract import Harness, Records
from agentforge.harnesses.journal import Journal
from agentforge.harnesses.runner import RunStats, Task, run_tasks
from agentforge.runtime.backends.base import Backend

JOURNAL = "journal.jsonl"
OpenBackend = Callable[[str], Awaitable[Backend]]  # model spec -> a started backend


def _where(config: Any, run_dir: str | Path | None) -> Path:
    where = run_dir if run_dir is not None else config.run_dir
    if where is None:
        raise ValueError("no run directory: pass run_dir or set config.run_dir")
    return Path(where)


async def run_harness(harness: Harness, config: Any, run_dir: str | Path | None = None,
                      backend: Backend | None = None, console: Console | None = None,
                      progress: bool = True, open_backend: OpenBackend | None = None) -> tuple[RunStats, dict]:
    """Run (or resume) a run and write its report; returns (stats, summary).

    Without a `backend` the harness's model is opened here with `open_backend`
    (default `agentforge.models.make_model`; the CLI's shows a spinner) - only after the settings,
    the tasks and the run directory have been checked - and closed after.
    """
    run_dir = _where(config, run_dir)
    harness.check(config)
    tasks = harness.load_tasks(config)  # before anything is written: a bad path or category fails fast
    rundir.check_run_dir(run_dir, config, harness.identity, harness.name)
    own = backend is None and harness.needs_backend(config)
    if own:
        if open_backend is None:
            from agentforge.models import make_model as open_backend
        backend = await open_backend(config.model)
    attempt = harness.attempt(config, run_dir, backend, console)
    try:
        stats = await run_tasks(tasks, attempt, Journal(run_dir / JOURNAL), config.run_options(progress), console)
    finally:
        close = getattr(attempt, "aclose", None)  # an attempt may hold resources of its own (a second model)
        if close is not None:
            await close()
        if own and backend is not None:
            await backend.aclose()
    return stats, write_run_report(harness, run_dir, config, tasks)


def run_records(run_dir: Path, n: int, tasks: Sequence[Task] | None = None) -> Records:
    """The journal's candidates by task (samples below n; only `tasks` when given), in sample order."""
    records = Journal(Path(run_dir) / JOURNAL).load()
    wanted = None if tasks is None else {t.id for t in tasks}
    grouped: Records = {}
    for r in sorted(records.values(), key=lambda r: (r.task_id, r.sample)):
        if (wanted is None or r.task_id in wanted) and r.sample < n:
            grouped.setdefault(r.task_id, []).append(r)
    return grouped


def write_run_report(harness: Harness, run_dir: Path, config: Any, tasks: Sequence[Task] | None = None) -> dict:
    """The harness's own files, then summary.json, report.txt and report.png, from the journal."""
    from agentforge.harnesses.metrics import TaskOutcome
    from agentforge.harnesses.report import write_report

    records = run_records(run_dir, config.n, tasks)
    harness.write_outputs(Path(run_dir), config, records)
    outcomes = [TaskOutcome(task_id=tid, category=rs[0].category, candidates=[harness.candidate(r) for r in rs])
                for tid, rs in records.items()]
    return write_report(outcomes, run_dir, selectors=config.selectors, aggregate=harness.aggregate,
                        title=harness.title(config), pass_hat=harness.pass_hat, extra=harness.summary_extra(records))


def load_run(run_dir: str | Path) -> tuple[Harness, Any]:
    """The harness and settings a run directory was made with (a RunDirError says what is wrong)."""
    from agentforge.harnesses.registry import get_harness

    name = rundir.harness_of(Path(run_dir))
    try:
        harness = get_harness(name)
    except ValueError as e:
        raise rundir.RunDirError(f"{run_dir}/config.json names {e}") from None
    return harness, rundir.load_config(Path(run_dir), harness.config_class)


def rescore(run_dir: str | Path) -> dict:
    """Rebuild the report (and official files) of a run directory of any harness from its journal."""
    harness, config = load_run(run_dir)
    return write_run_report(harness, Path(run_dir), config)
