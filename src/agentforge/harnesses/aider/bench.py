"""`agent bench aider`: Aider Polyglot (225 exercises, 6 languages) on the harness contract.

Tasks are exercises (id `lang/slug`, category = language). Where a candidate's code comes from
(`source`):
  model      the model, under Aider's protocol (default) or as our code agent (`agentic`)
  reference  the exercise's reference solution copied over the stubs (the self-check: must pass)
  stub       the untouched stubs (must fail, but for go/counter's documented free pass)
A candidate is correct when the tests pass within the tries (Aider's pass_rate_2 with 2 tries).
The run directory holds config.json, journal.jsonl, trajectories/, summary.json, report.txt,
report.png, and polyglot/sample-K/<lang>/exercises/practice/<slug>/.aider.results.json (Aider's
own summary script reads polyglot/sample-K); summary.json adds Aider's metrics per language.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.harnesses.aider.aider_metrics import aider_summary, write_results_files
from agentforge.harnesses.aider.data import (LANGUAGES, Exercise, apply_reference, data_source, default_data_dir,
                                             fresh_copy, load_exercises)
from agentforge.harnesses.aider.grading import run_tests, grading_sandbox
from agentforge.harnesses.config import RUN_IDENTITY, RunConfig
from agentforge.harnesses.contract import Harness, Records
from agentforge.harnesses.journal import SampleResult
from agentforge.harnesses.rundir import safe_name
from agentforge.harnesses.runner import Task, request_seed, run_samples
from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Sampling
from agentforge.runtime.token_signals import candidate_signals
from agentforge.selectors.candidate import Candidate

SOURCES = ("model", "reference", "stub")
EDIT_FORMATS = ("whole", "diff")
IDENTITY = RUN_IDENTITY + ("source", "edit_format", "tries", "agentic", "data", "sandbox")


@dataclass
class AiderConfig(RunConfig):
    data: str = ""  # the polyglot-benchmark folder ("" = ../shared/data/polyglot-benchmark)
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES))
    keywords: list[str] | None = None
    num_tests: int | None = None  # after a seeded shuffle (Aider: unseeded)
    source: str = "model"
    edit_format: str = "whole"
    tries: int = 2
    agentic: bool = False
    sandbox: str = "auto"
    build_concurrency: int = 1  # test runs at once (C++/Java/JS builds starve 2 cores)
    temperature: float = 0.0  # Aider's
    top_p: float = 1.0  # Aider sends no top_p
    max_tokens: int = 4096
    max_steps: int = 30  # agentic: model calls
    context_tokens: int = 32_768  # agentic
    concurrency: int = 2
    task_timeout: float | None = 1800.0

    def data_dir(self) -> Path:
        return Path(self.data) if self.data else default_data_dir()


def check_config(config: AiderConfig) -> None:
    if config.source not in SOURCES:
        raise ValueError(f"--source must be one of {', '.join(SOURCES)}, not {config.source!r}")
    if config.edit_format not in EDIT_FORMATS:
        raise ValueError(f"--edit-format must be one of {', '.join(EDIT_FORMATS)}, not {config.edit_format!r}")
    if config.tries < 1:
        raise ValueError("--tries must be at least 1 (Aider's default is 2)")
    if config.source != "model" and config.n != 1:
        raise ValueError(f"--source {config.source} gives one candidate per exercise: use -n 1")
    unknown = [language for language in config.languages if language not in LANGUAGES]
    if unknown:
        raise ValueError(f"unknown language(s) {', '.join(unknown)} in --languages; choose from {', '.join(LANGUAGES)}")
    if config.agentic and config.source != "model":
        raise ValueError("--agentic runs the model as an agent: use it with --source model")
    from agentforge.harnesses.aider.toolchains import missing, toolchain

    for language in config.languages:
        if missing(language):
            raise ValueError(f"the {language} tests cannot run here (missing {', '.join(missing(language))}): "
                             f"run {toolchain(language).install}, or leave {language} out of --languages")
    if config.source == "model" and config.n > 1 and config.temperature == 0:
        raise ValueError("-n > 1 at temperature 0 gives N copies of one answer: pass --temperature (e.g. 0.7)")


class AiderAttempt:
    def __init__(self, config: AiderConfig, run_dir: Path, backend: Backend | None):
        self.config, self.run_dir, self.backend = config, run_dir, backend
        self.gate = asyncio.Semaphore(max(1, config.build_concurrency))
        self.data = data_source(config.data_dir())  # the data's commit, in every result

    async def __call__(self, task: Task, samples: list[int]) -> list[SampleResult]:
        return await run_samples(task, samples, lambda s: self._one(task, s),
                                 on_error=lambda s, exc: _exception_record(task, s, exc))

    async def _one(self, task: Task, sample: int) -> SampleResult:
        exercise: Exercise = task.data
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="agentforge-aider-") as tmp:
            root = Path(tmp)
            folder = fresh_copy(exercise, root / exercise.slug, agentic=self.config.agentic)
            if self.config.source == "reference":
                apply_reference(exercise, folder)
            signals: dict = {}
            trajectory = None
            if self.config.source != "model":
                async with grading_sandbox(root, self.config.sandbox) as box:
                    run = await run_tests(exercise, box, self.gate)
                results = dict(tests_outcomes=[run.passed], duration=round(run.seconds, 2),
                               test_timeouts=int(run.timed_out), num_malformed_responses=0)
                files = {f: (folder / f).read_text(errors="replace") for f in exercise.solution
                         if (folder / f).is_file()}
                transcript = [{"test_run": {"passed": run.passed, "output": run.output[-20_000:]}}]
            else:
                results, files, transcript, completions = await self._model(exercise, folder, root, sample)
                logprobs, confidences = candidate_signals(completions)
                signals = {"token_logprobs": [round(x, 4) for x in logprobs],
                           "token_confidences": [round(x, 4) for x in confidences],
                           "tokens": sum(c.usage.completion_tokens for c in completions)}
            trajectory = f"trajectories/{safe_name(task.id)}/{sample}.json"
            await asyncio.to_thread(_write_json, self.run_dir / trajectory, transcript)
        results.update(model=self.config.model if self.config.source == "model" else self.config.source,
                       edit_format="agentic" if self.config.agentic else self.config.edit_format,
                       testdir=exercise.id, data=self.data)
        passed = bool(results["tests_outcomes"]) and results["tests_outcomes"][-1]
        answer = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        return SampleResult(task_id=task.id, sample=sample, category=exercise.language, correct=passed,
                            answer=answer, output=files, detail={"results": results}, trajectory=trajectory,
                            seconds=time.monotonic() - started, **signals)

    async def _model(self, exercise: Exercise, folder: Path, root: Path, sample: int):
        sampling = Sampling(temperature=self.config.temperature, top_p=self.config.top_p,
                            max_tokens=self.config.max_tokens, seed=request_seed(self.config.seed, exercise.id, sample),
                            logprobs=self.config.top_logprobs > 0, top_logprobs=self.config.top_logprobs)
        if self.config.agentic:
            from agentforge.harnesses.aider.agentic import run_agentic

            return await run_agentic(exercise, folder, root, self.backend, self.config, sampling, self.gate)
        from agentforge.harnesses.aider.aider_texts import aider_texts
        from agentforge.harnesses.aider.protocol import AiderProtocol

        texts = await asyncio.to_thread(aider_texts)
        async with grading_sandbox(root, self.config.sandbox) as box:
            protocol = AiderProtocol(exercise, folder, self.backend, texts, self.config.edit_format, sampling,
                                     self.config.tries, lambda: run_tests(exercise, box, self.gate))
            outcome = await protocol.run()
        return outcome.results, outcome.files, outcome.transcript, outcome.completions


def _exception_record(task: Task, sample: int, exc: Exception) -> SampleResult:
    # Aider records an exception as a completed, failed exercise; so do we (status ok, not correct)
    detail = {"results": {"exception": f"{type(exc).__name__}: {exc}", "tests_outcomes": []}}
    return SampleResult(task_id=task.id, sample=sample, category=task.category, correct=False, detail=detail,
                        error=f"{type(exc).__name__}: {exc}")


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


class AiderHarness(Harness):
    name = "aider"
    config_class = AiderConfig
    identity = IDENTITY

    def check(self, config: AiderConfig) -> None:
        check_config(config)

    def load_tasks(self, config: AiderConfig) -> list[Task]:
        exercises = load_exercises(config.data_dir(), config.languages, config.keywords, config.limit,
                                   config.num_tests, config.seed)
        return [Task(id=e.id, category=e.language, data=e) for e in exercises]

    def needs_backend(self, config: AiderConfig) -> bool:
        return config.source == "model"

    def attempt(self, config: AiderConfig, run_dir: Path, backend: Backend | None, console=None) -> AiderAttempt:
        return AiderAttempt(config, run_dir, backend)

    def candidate(self, record: SampleResult) -> Candidate:
        ok = record.status == "ok"
        return Candidate(answer=record.answer if ok else "", token_logprobs=record.token_logprobs,
                         token_confidences=record.token_confidences, correct=bool(record.correct) if ok else None,
                         text=json.dumps(record.output))

    def title(self, config: AiderConfig) -> str:
        if config.source != "model":
            return f"Aider Polyglot · {config.source} solutions · {config.sandbox}"
        mode = "agentic" if config.agentic else f"{config.edit_format}, {config.tries} tries"
        return f"Aider Polyglot · {config.model} · {mode} · N={config.n}"

    def write_outputs(self, run_dir: Path, config: AiderConfig, records: Records) -> None:
        write_results_files(run_dir, records)

    def summary_extra(self, records: Records) -> dict:
        return aider_summary(records)

    def where(self, run_dir: Path) -> str:
        return f"report in {run_dir}/ · Aider's metrics in {run_dir}/polyglot/report.txt (results files beside it)"


HARNESS = AiderHarness()

