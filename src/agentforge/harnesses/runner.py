"""The shared harness runner: tasks x samples -> journal, with resume.

A harness supplies tasks and an `attempt(task, samples)` coroutine that returns
one SampleResult per requested sample (several at once so that backends which
take `n` can sample them in one request). The runner bounds concurrency, puts a
timeout on each attempt, retries transient model errors with backoff, records
every other failure as an error result, and journals results durably. Re-running
with the same journal skips every sample already recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.runtime.backends.base import TransientBackendError


@dataclass
class Task:
    id: str
    category: str = ""
    data: Any = None


def request_seed(seed: int, task_id: str, sample: int) -> int:
    """A sampling seed of its own for every (run seed, task, candidate)."""
    digest = hashlib.sha256(f"{seed}/{task_id}/{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


Attempt = Callable[[Task, list[int]], Awaitable[list[SampleResult]]]


@dataclass
class RunOptions:
    n: int = 1  # samples per task
    concurrency: int = 8  # tasks in flight
    task_timeout: float | None = None  # seconds per attempt
    retries: int = 3  # extra tries after a transient model error
    backoff: float = 1.0  # first retry delay, doubled each time, with jitter
    retry_errors: bool = False  # re-run samples whose journal record is an error
    progress: bool = True


@dataclass
class RunStats:
    done: int = 0  # samples finished in this process
    skipped: int = 0  # samples found in the journal
    errors: int = 0
    correct: int = 0
    retries: int = 0
    seconds: float = 0.0
    error_messages: list[str] = field(default_factory=list)


async def run_tasks(
    tasks: Sequence[Task],
    attempt: Attempt,
    journal: Journal,
    options: RunOptions | None = None,
    console: Console | None = None,
) -> RunStats:
    options = options or RunOptions()
    done = journal.load(keep_errors=not options.retry_errors)
    stats = RunStats()
    todo: list[tuple[Task, list[int]]] = []
    for task in tasks:
        missing = [s for s in range(options.n) if (task.id, s) not in done]
        stats.skipped += options.n - len(missing)
        if missing:
            todo.append((task, missing))
    started = time.monotonic()
    gate = asyncio.Semaphore(max(1, options.concurrency))
    with _progress(console, options.progress) as progress:
        bar = progress.add_task("samples", total=sum(len(m) for _, m in todo), acc="")

        async def one(task: Task, samples: list[int]) -> None:
            async with gate:
                results = await _attempt_with_retries(task, samples, attempt, options, stats)
            await asyncio.to_thread(journal.append, results)
            for r in results:
                stats.done += 1
                stats.errors += r.status == "error"
                stats.correct += bool(r.correct)
                if r.error and len(stats.error_messages) < 20:
                    stats.error_messages.append(f"{r.task_id}#{r.sample}: {r.error}")
            acc = f"acc {stats.correct / stats.done:.1%}" + (f" · {stats.errors} errors" if stats.errors else "")
            progress.update(bar, advance=len(results), acc=acc)

        await asyncio.gather(*(one(task, samples) for task, samples in todo))
    stats.seconds = time.monotonic() - started
    return stats


async def _attempt_with_retries(
    task: Task, samples: list[int], attempt: Attempt, options: RunOptions, stats: RunStats
) -> list[SampleResult]:
    delay = options.backoff
    for tries in range(options.retries + 1):
        started = time.monotonic()
        try:
            results = await asyncio.wait_for(attempt(task, samples), options.task_timeout)
            return _complete(task, samples, results)
        except TransientBackendError as e:
            if tries == options.retries:
                return _errors(task, samples, f"gave up after {tries + 1} tries: {e}", started)
            stats.retries += 1
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay *= 2
        except asyncio.TimeoutError:
            return _errors(task, samples, f"timed out after {options.task_timeout:g} s", started)
        except Exception as e:  # a harness or model failure: recorded, never lost
            return _errors(task, samples, f"{type(e).__name__}: {e}", started)
    raise AssertionError("unreachable")


def _complete(task: Task, samples: list[int], results: list[SampleResult]) -> list[SampleResult]:
    """Every requested sample gets exactly one record, even if the harness forgot one."""
    by_sample = {r.sample: r for r in results if r.sample in samples}
    missing = [s for s in samples if s not in by_sample]
    return [by_sample[s] for s in samples if s in by_sample] + _errors(
        task, missing, "the harness returned no result for this sample", time.monotonic()
    )


async def run_samples(task: Task, samples: list[int], one: Callable[[int], Awaitable[SampleResult]],
                      on_error: Callable[[int, Exception], SampleResult] | None = None) -> list[SampleResult]:
    """`one(sample)` for every sample at once. A sample that raises becomes its own record (`on_error`;
    by default an error record), so its siblings keep their results. Transient model errors (the runner
    retries the task) and cancellation propagate."""
    outcomes = await asyncio.gather(*(one(s) for s in samples), return_exceptions=True)
    results = []
    for sample, outcome in zip(samples, outcomes):
        if isinstance(outcome, BaseException):
            if isinstance(outcome, (TransientBackendError, asyncio.CancelledError)) or \
                    not isinstance(outcome, Exception):
                raise outcome
            outcome = on_error(sample, outcome) if on_error else SampleResult(
                task_id=task.id, sample=sample, category=task.category, status="error", correct=False,
                error=f"{type(outcome).__name__}: {outcome}")
        results.append(outcome)
    return results


def _errors(task: Task, samples: list[int], message: str, started: float) -> list[SampleResult]:
    seconds = time.monotonic() - started
    return [
        SampleResult(task_id=task.id, sample=s, category=task.category, status="error", correct=False,
                     error=message, seconds=seconds)
        for s in samples
    ]


class NoProgress:
    """Stands in for a rich Progress when progress display is off."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass


def _progress(console: Console | None, enabled: bool):
    if not enabled:
        return NoProgress()
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[acc]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console or Console(stderr=True), transient=False,
    )
