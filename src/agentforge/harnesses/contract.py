"""The harness contract: what a benchmark supplies to the shared runner and report.

A harness is data + an environment + a grader. It says
- which tasks there are (`load_tasks`; each `Task` carries its category),
- how to run one attempt of a task with a backend (`attempt`: the runner's
  coroutine, returning one graded `SampleResult` per requested candidate, with
  the trajectory saved under the run directory and named in the result),
- how a journal record becomes a selector candidate (`candidate`),
- and its headline metric (`aggregate`: per-category accuracy -> the summary
  rows; None is the micro average "overall"; `pass_hat` adds pass^k).
Everything else - resume, retries, timeouts, the progress bar, the journal,
pass@k / selected@N / pass^k, tables, plot, `agent bench report` - is shared
(`harnesses.run`), and so is the `agent bench NAME` command: the harness's
folder gives its options (`harnesses.command`). A new harness is one folder
with a `Harness` subclass and an options function, and one line in
`harnesses.registry`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console

from agentforge.harnesses.config import RUN_IDENTITY, RunConfig
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.metrics import Aggregate
from agentforge.harnesses.runner import Attempt, Task
from agentforge.runtime.backends.base import Backend
from agentforge.selectors.candidate import Candidate

Records = dict[str, list[SampleResult]]  # task id -> its journal records, by sample


class Harness:
    """Subclass and fill in; the defaults fit a harness with nothing special."""

    name: ClassVar[str]  # `agent bench NAME`; config.json's "harness"
    config_class: ClassVar[type[RunConfig]] = RunConfig
    identity: ClassVar[tuple[str, ...]] = RUN_IDENTITY  # settings a run directory refuses to mix
    aggregate: ClassVar[Aggregate | None] = None
    pass_hat: ClassVar[bool] = False

    def check(self, config: Any) -> None:
        """Reject bad settings (ValueError saying what to do) before any work."""

    def load_tasks(self, config: Any) -> list[Task]:
        raise NotImplementedError

    def needs_backend(self, config: Any) -> bool:
        return True

    def attempt(self, config: Any, run_dir: Path, backend: Backend | None, console: Console | None) -> Attempt:
        """The coroutine the runner calls as attempt(task, samples) -> [SampleResult per sample].

        An attempt that holds resources of its own (a second model, threads) has an
        `async aclose()`, awaited once the run ends."""
        raise NotImplementedError

    def candidate(self, record: SampleResult) -> Candidate:
        """A journal record as a selector candidate; an error record has no answer and is wrong."""
        return Candidate(answer=record.answer if record.status == "ok" else "", token_logprobs=record.token_logprobs,
                         token_confidences=record.token_confidences, correct=bool(record.correct),
                         text=json.dumps(record.output))

    def title(self, config: Any) -> str:
        return f"{self.name} · {config.model} · N={config.n}"

    def write_outputs(self, run_dir: Path, config: Any, records: Records) -> None:
        """Files in an official format (e.g. SWE-bench predictions), rewritten before every report."""

    def summary_extra(self, records: Records) -> dict[str, Any]:
        """Keys this harness adds to summary.json."""
        return {}

    def where(self, run_dir: Path) -> str:
        """Where the run's files are, for the line closing `agent bench NAME`."""
        return f"report in {run_dir}/ (summary.json, report.txt, report.png)"

    def unusable(self, summary: dict[str, Any]) -> str | None:
        """Why a finished run's scores are not a result (`agent bench NAME` then exits 1), or None."""
        return None
