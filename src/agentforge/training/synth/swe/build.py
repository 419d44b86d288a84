"""The SWE-smith pipeline: real package -> mutations -> the ones that break tests -> SWE-bench rows.

For each package (NAME==VERSION):
  1. download its sdist, unpack it, find the code and the tests, commit it as
     the base of a bare mirror `<out>/repos/pypi__<name>`;
  2. build its test environment (a cached venv) and run the whole test suite
     twice at the base: tests that pass both times are the baseline;
  3. try mutations in a seeded order, each on a fresh copy of the tree, with
     the whole suite in the sandbox. A mutation is a bug when the run finished,
     1 <= |tests that broke| <= max_fail_fraction x |baseline|;
  4. commit the bug, tag it, and check the instance the way it will be graded:
     the harness's own `evaluate` must fail it with the empty patch and resolve
     it with the gold patch (FAIL_TO_PASS keeps the tests that really fail when
     only their files run);
  5. write the problem statement and append the row.

Every tried mutation is journaled, so a killed run resumes where it stopped.

Why ~540 lines: this is the pipeline, one section per stage above, read top
to bottom; the resume tests replace stages through this module's namespace
(tests/training/synth/swe/test_resume.py). If it grows, the next cut is the
stages (preparing, running the tests, one mutation: ~230 lines) into a module
of their own, with the run and its progress display left here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from agentforge.harnesses.runner import NoProgress
from agentforge.harnesses.swebench.environment import EnvHandle, EnvSpec, build_env, env_sandbox
from agentforge.harnesses.swebench.log_parsers import TestStatus, parse_log_pytest
from agentforge.runtime.sandbox import Limits, resolve_kind
from agentforge.training.synth.swe import repo
from agentforge.training.synth.swe.instance import (PYTEST_COMMAND, instance_id, make_row, module_name,
                                                    repo_name, file_of_test)
from agentforge.training.synth.swe.journal import (ERROR, FINAL, KEPT, REJECTED, SURPLUS, SynthJournal,
                                                   append_jsonl, write_jsonl_atomic)
from agentforge.training.synth.swe.mutate import KINDS, MutationError, Site, mutate, order_sites, package_sites
from agentforge.training.synth.swe.requirements import config_plugins, ensure_metadata, read_requirements
from agentforge.training.synth.swe.sdist import (PYTEST_REQUIREMENT, Layout, PackageRef, cache_root, clean_tree,
                                                 detect_layout, download_sdist, unpack_sdist)
from agentforge.training.synth.swe.statement import teacher_statement, written_statement

LOG_CHARS = 20_000_000  # pytest logs are read whole
PASSING = (TestStatus.PASSED, TestStatus.XFAIL)


class SynthError(RuntimeError):
    """A package cannot be used (its tests do not run at the base commit, ...)."""


@dataclass
class SynthOptions:
    per_package: int = 10  # instances to keep per package
    seed: int = 0
    concurrency: int = 2  # mutations tested at once
    timeout: float = 300.0  # upper bound on one test run (seconds); the real bound is min(this, 5 x baseline)
    min_timeout: float = 30.0
    timeout_factor: float = 5.0
    max_fail_fraction: float = 0.5  # more broken tests than this = the mutation broke everything
    max_per_function: int = 1
    max_tries: int | None = None  # per package; None = 4 x per_package + 20
    baseline_runs: int = 2  # tests must pass in every baseline run (drops flaky ones)
    kinds: tuple[str, ...] = KINDS
    memory_mb: int = 4096
    validate: bool = True  # grade gold and empty patches with the harness before keeping an instance
    progress: bool = True


@dataclass
class PackageReport:
    package: str
    sites: int = 0
    baseline_tests: int = 0
    flaky_tests: int = 0
    tried: int = 0  # mutations run in this process
    resumed: int = 0  # found finished in the journal
    kept: int = 0  # instances of this package in the output (this run and earlier)
    new: int = 0  # instances made by this run
    rejected: Counter = field(default_factory=Counter)  # reason -> count
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # download, env, baseline (each run), ...
    mutation_seconds: list[float] = field(default_factory=list)  # full-suite run per mutation
    validate_seconds: list[float] = field(default_factory=list)  # gold + empty grading per candidate
    error: str | None = None  # the package could not be used at all

    def summary(self) -> dict[str, Any]:
        mean = lambda xs: round(sum(xs) / len(xs), 2) if xs else None  # noqa: E731
        return {"package": self.package, "sites": self.sites, "baseline_tests": self.baseline_tests,
                "flaky_tests": self.flaky_tests, "tried": self.tried, "resumed": self.resumed,
                "kept": self.kept, "new": self.new, "rejected": dict(self.rejected),
                "errors": self.errors[:5], "error": self.error,
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "mutation_seconds_mean": mean(self.mutation_seconds),
                "validate_seconds_mean": mean(self.validate_seconds)}


@dataclass
class SynthStats:
    out_dir: Path
    instances_path: Path
    packages: list[PackageReport] = field(default_factory=list)
    instances: int = 0  # rows in instances.jsonl
    new: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "instances": self.instances, "new": self.new,
                "seconds": round(self.seconds, 1), "packages": [p.summary() for p in self.packages]}


@dataclass
class Prepared:
    """A package ready for mutation: its pristine tree, layout, environment and base commit."""

    ref: PackageRef
    tree: Path
    layout: Layout
    env_spec: EnvSpec
    mirror: Path
    base_commit: str


@dataclass
class SuiteRun:
    statuses: dict[str, TestStatus]
    log: str
    seconds: float
    timed_out: bool
    returncode: int
    error: str | None

    @property
    def passed(self) -> set[str]:
        return {t for t, s in self.statuses.items() if s in PASSING}


# --- preparing a package -----------------------------------------------------------------


def trees_cache() -> Path:
    return cache_root() / "swe-synth" / "trees"


def mirror_path(out_dir: Path, ref: PackageRef) -> Path:
    return Path(out_dir) / "repos" / repo_name(ref.normalized).replace("/", "__")


def prepare_tree(ref: PackageRef, cache: Path | None = None) -> tuple[Path, Layout]:
    """The unpacked, cleaned sdist (cached) and its layout."""
    archive = download_sdist(ref.name, ref.version)
    root = Path(cache or trees_cache())
    tree = root / f"{ref.normalized}-{ref.version}"
    if not (tree / ".agentforge-complete").exists():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{tree.name}-"))
        try:
            unpacked = unpack_sdist(archive, staging / "tree")
            clean_tree(unpacked)
            ensure_metadata(unpacked, detect_layout(unpacked), ref.name)
            if tree.exists():
                shutil.rmtree(tree)
            os.replace(unpacked, tree)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        (tree / ".agentforge-complete").write_text(archive.name)
    return tree, detect_layout(tree)


def env_spec_for(tree: Path, layout: Layout) -> EnvSpec:
    pip = [PYTEST_REQUIREMENT]
    for requirement in config_plugins(tree) + read_requirements(tree):
        if requirement not in pip:
            pip.append(requirement)
    return EnvSpec(pip=pip, pythonpath=list(layout.pythonpath))


def _copy_tree(tree: Path, dest: Path) -> Path:
    shutil.copytree(tree, dest, symlinks=False, ignore=shutil.ignore_patterns(".agentforge-complete"))
    return dest


def prepare_package(ref: PackageRef, out_dir: Path) -> Prepared:
    tree, layout = prepare_tree(ref)
    spec = env_spec_for(tree, layout)
    mirror = repo.init_mirror(mirror_path(out_dir, ref))
    base_tag = f"agentforge/base/{ref.normalized}-{ref.version}"
    base = repo.resolve(mirror, f"refs/tags/{base_tag}")
    if base is None:
        with tempfile.TemporaryDirectory(prefix="agentforge-synth-") as tmp:
            clean = _copy_tree(tree, Path(tmp) / "tree")
            base = repo.commit_tree(mirror, clean, f"{ref.name} {ref.version}, as published on PyPI (sdist)")
        repo.tag(mirror, base_tag, base)
        repo.set_branch(mirror, "main", base)
    return Prepared(ref=ref, tree=tree, layout=layout, env_spec=spec, mirror=mirror, base_commit=base)


# --- running the tests ---------------------------------------------------------------------


async def run_suite(kind: str, env: EnvHandle, tree: Path, tests: Sequence[str], timeout: float,
                    changes: dict[str, str] | None = None, memory_mb: int = 4096) -> SuiteRun:
    """pytest over `tests` on a fresh copy of `tree` with `changes` (path -> text) written in."""
    with tempfile.TemporaryDirectory(prefix="agentforge-synth-") as tmp:
        workspace = await asyncio.to_thread(_copy_tree, tree, Path(tmp) / "ws")
        for path, text in (changes or {}).items():
            (workspace / path).write_text(text)
        limits = Limits(timeout=timeout, memory_mb=memory_mb, pids=1024, output_chars=LOG_CHARS)
        box = env_sandbox(kind, workspace, env, limits)
        command = f"{PYTEST_COMMAND} " + " ".join(tests)
        started = time.monotonic()
        async with box:
            result = await box.exec(command, timeout=timeout, output_chars=LOG_CHARS)
        seconds = time.monotonic() - started
    return SuiteRun(statuses=parse_log_pytest(result.output), log=result.output, seconds=seconds,
                    timed_out=result.timed_out, returncode=result.returncode, error=result.error)


def _baseline_path(out_dir: Path, prepared: Prepared) -> Path:
    return Path(out_dir) / "baselines" / f"{prepared.ref.normalized}-{prepared.ref.version}.json"


async def baseline(prepared: Prepared, kind: str, env: EnvHandle, options: SynthOptions, out_dir: Path,
                   report: PackageReport) -> list[str]:
    """Tests that pass in every baseline run (cached in the output directory)."""
    path = _baseline_path(out_dir, prepared)
    key = {"base_commit": prepared.base_commit, "environment": prepared.env_spec.model_dump(),
           "tests": prepared.layout.tests, "command": PYTEST_COMMAND, "runs": options.baseline_runs}
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            report.seconds.update({f"baseline_{i + 1}": s for i, s in enumerate(cached["seconds"])})
            report.flaky_tests = cached.get("flaky", 0)
            return cached["passed"]
    passed: set[str] | None = None
    seen: set[str] = set()
    times = []
    for i in range(max(1, options.baseline_runs)):
        run = await run_suite(kind, env, prepared.tree, prepared.layout.tests, options.timeout,
                              memory_mb=options.memory_mb)
        times.append(run.seconds)
        report.seconds[f"baseline_{i + 1}"] = run.seconds
        if run.timed_out:
            raise SynthError(f"the test suite timed out at the base commit ({options.timeout:g} s)")
        if not run.statuses:
            raise SynthError(f"pytest reported no tests at the base commit (exit {run.returncode}):\n"
                             f"{run.log[-2000:]}")
        seen |= run.passed
        passed = run.passed if passed is None else passed & run.passed
    result = sorted(passed or ())
    report.flaky_tests = len(seen) - len(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "passed": result, "seconds": times, "flaky": report.flaky_tests}))
    return result


# --- one mutation --------------------------------------------------------------------------


@dataclass
class Context:
    prepared: Prepared
    kind: str
    env: EnvHandle
    options: SynthOptions
    out_dir: Path
    baseline: list[str]
    run_timeout: float
    teacher: Any = None
    git_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _record(ident: str, prepared: Prepared, site: Site, status: str, reason: str = "", **extra) -> dict:
    return {"id": ident, "package": str(prepared.ref), "site": site.to_dict(), "status": status,
            "reason": reason, **extra}


async def try_site(ctx: Context, site: Site) -> dict[str, Any]:
    """Run one mutation and return its journal record (with the instance row when kept)."""
    prepared, options = ctx.prepared, ctx.options
    ident = instance_id(prepared.ref.normalized, prepared.ref.version, site.kind, site.digest)
    try:
        mutated = mutate(prepared.tree, site).mutated
    except MutationError as e:
        return _record(ident, prepared, site, REJECTED, "invalid", detail=str(e))
    run = await run_suite(ctx.kind, ctx.env, prepared.tree, prepared.layout.tests, ctx.run_timeout,
                          {site.file: mutated}, memory_mb=options.memory_mb)
    seconds = {"run": round(run.seconds, 2)}
    if run.timed_out:
        return _record(ident, prepared, site, REJECTED, "timeout", seconds=seconds)
    if not run.statuses:
        return _record(ident, prepared, site, REJECTED, "no_tests_ran", seconds=seconds)
    passed = run.passed
    broke = [t for t in ctx.baseline if t not in passed]
    if not broke:
        return _record(ident, prepared, site, REJECTED, "no_test_fails", seconds=seconds)
    if len(broke) > options.max_fail_fraction * len(ctx.baseline):
        return _record(ident, prepared, site, REJECTED, "too_many_fail", seconds=seconds, f2p=len(broke))
    files = sorted({file_of_test(t) for t in broke})
    still = [t for t in ctx.baseline if t in passed and file_of_test(t) in files]

    async with ctx.git_lock:
        buggy = await asyncio.to_thread(
            repo.commit_file, prepared.mirror, prepared.base_commit, site.file, mutated,
            f"{ident}\n\n{site.kind} in {site.qualname} ({site.file})")
        await asyncio.to_thread(repo.tag, prepared.mirror, f"agentforge/{ident}", buggy)
        gold = await asyncio.to_thread(repo.diff, prepared.mirror, buggy, prepared.base_commit, site.file)
        bug = await asyncio.to_thread(repo.diff, prepared.mirror, prepared.base_commit, buggy, site.file)
    module = module_name(site.file, prepared.layout.source_root)
    mutation = {"file": site.file, "function": site.qualname, "kind": site.kind, "line": site.line,
                "description": site.description}

    def row(f2p: list[str], p2p: list[str], statement: str) -> dict[str, Any]:
        return make_row(package=prepared.ref.normalized, version=prepared.ref.version, instance=ident,
                        base_commit=buggy, setup_commit=prepared.base_commit, patch=gold,
                        problem_statement=statement, fail_to_pass=f2p, pass_to_pass=p2p, test_files=files,
                        environment=prepared.env_spec.model_dump(), mutation=mutation)

    f2p, p2p, log = broke, still, run.log
    if options.validate:
        started = time.monotonic()
        checked = await validate(ctx, row(f2p, p2p, ""), gold)
        seconds["validate"] = round(time.monotonic() - started, 2)
        if isinstance(checked, str):
            async with ctx.git_lock:  # tags name instances only
                await asyncio.to_thread(repo.untag, prepared.mirror, f"agentforge/{ident}")
            return _record(ident, prepared, site, REJECTED, checked, seconds=seconds, f2p=len(broke))
        f2p, p2p, log = checked
    statement = None
    if ctx.teacher is not None:
        try:
            statement = await teacher_statement(ctx.teacher, module, bug, f2p, log)
        except Exception as e:  # a teacher failure costs the nicer statement, not the instance
            seconds["teacher_error"] = f"{type(e).__name__}: {e}"[:300]
    if statement is None:
        statement = written_statement(ident, module, f2p, log, bug)
    return _record(ident, prepared, site, KEPT, seconds=seconds, f2p=len(f2p), p2p=len(p2p),
                   instance=row(f2p, p2p, statement))


async def validate(ctx: Context, row: dict[str, Any], gold: str) -> tuple[list[str], list[str], str] | str:
    """Grade the instance with the harness: (F2P, P2P, empty-patch log), or the reason it is unusable."""
    from agentforge.harnesses.swebench.evaluate import evaluate
    from agentforge.harnesses.swebench.grading import parse_instance_log, test_names
    from agentforge.harnesses.swebench.instances import Instance
    from agentforge.harnesses.swebench.repos import RepoSource

    source = RepoSource(mirror=Path(ctx.out_dir) / "repos")
    instance = Instance.model_validate(row)
    empty = await evaluate(instance, "", kind=ctx.kind, repos=source, env=ctx.env, timeout=ctx.run_timeout)
    if empty.error and empty.grade is None:
        return "empty_patch_not_graded"
    statuses = parse_instance_log(empty.log, row)
    f2p = [t for t in test_names(row["FAIL_TO_PASS"]) if statuses.get(t) not in PASSING]
    p2p = [t for t in test_names(row["PASS_TO_PASS"]) if statuses.get(t) in PASSING]
    if not f2p:
        return "passes_when_files_run_alone"
    instance = Instance.model_validate({**row, "FAIL_TO_PASS": json.dumps(f2p), "PASS_TO_PASS": json.dumps(p2p)})
    fixed = await evaluate(instance, gold, kind=ctx.kind, repos=source, env=ctx.env, timeout=ctx.run_timeout)
    if not fixed.resolved:
        return "gold_patch_fails"
    return f2p, p2p, empty.log


# --- the run -------------------------------------------------------------------------------


async def synthesize_package(ref: PackageRef, out_dir: Path, kind: str, options: SynthOptions,
                             journal: SynthJournal, done: dict[str, dict], instances_path: Path,
                             progress: Callable[..., None] | None = None, teacher: Any = None,
                             log: Callable[[str], None] | None = None) -> PackageReport:
    report = PackageReport(package=str(ref))
    mine = {i: r for i, r in done.items() if r.get("package") == str(ref)}
    kept_records = [r for r in mine.values() if r["status"] == KEPT]
    report.kept = len(kept_records)
    report.resumed = sum(r["status"] in FINAL for r in mine.values())
    per_function: Counter = Counter((r["site"]["file"], r["site"]["qualname"]) for r in kept_records)
    update = progress or (lambda **kw: None)
    update(kept=report.kept, tried=report.resumed, note="preparing")
    started = time.monotonic()
    try:
        prepared = await asyncio.to_thread(prepare_package, ref, out_dir)
        report.seconds["prepare"] = time.monotonic() - started
        started = time.monotonic()
        env = await build_env(prepared.env_spec, kind, log=log)
        report.seconds["env"] = time.monotonic() - started
        update(note="baseline")
        passing = await baseline(prepared, kind, env, options, out_dir, report)
    except Exception as e:
        report.error = f"{type(e).__name__}: {e}"
        update(note="failed")
        return report
    report.baseline_tests = len(passing)
    if not passing:
        report.error = "no test passes at the base commit"
        return report
    slowest = max(v for k, v in report.seconds.items() if k.startswith("baseline_"))
    run_timeout = min(options.timeout, max(options.min_timeout, options.timeout_factor * slowest))
    sites, unparsed = await asyncio.to_thread(package_sites, prepared.tree, prepared.layout.source_files,
                                              options.kinds)
    report.errors += unparsed
    report.sites = len(sites)
    order = order_sites(sites, options.seed)
    ctx = Context(prepared=prepared, kind=kind, env=env, options=options, out_dir=Path(out_dir),
                  baseline=passing, run_timeout=run_timeout, teacher=teacher)
    max_tries = options.max_tries if options.max_tries is not None else 4 * options.per_package + 20
    queue = iter(order)
    update(note="mutating")

    def next_site() -> Site | None:
        while report.kept < options.per_package and report.tried < max_tries:
            site = next(queue, None)
            if site is None:
                return None
            ident = instance_id(ref.normalized, ref.version, site.kind, site.digest)
            if ident in mine and mine[ident]["status"] in FINAL:
                continue
            if per_function[site.function] >= options.max_per_function:
                continue
            report.tried += 1
            return site
        return None

    async def worker() -> None:
        while (site := next_site()) is not None:
            try:
                record = await try_site(ctx, site)
            except Exception as e:  # machinery failure: journaled as an error, retried next run
                ident = instance_id(ref.normalized, ref.version, site.kind, site.digest)
                record = _record(ident, prepared, site, ERROR, f"{type(e).__name__}: {e}"[:2000])
                report.errors.append(record["reason"])
            if "run" in record.get("seconds", {}):
                report.mutation_seconds.append(record["seconds"]["run"])
            if "validate" in record.get("seconds", {}):
                report.validate_seconds.append(record["seconds"]["validate"])
            if record["status"] == KEPT:
                if report.kept >= options.per_package or per_function[site.function] >= options.max_per_function:
                    record = {**record, "status": SURPLUS, "instance": None}
                    async with ctx.git_lock:  # a later run may make it an instance again (same commit)
                        await asyncio.to_thread(repo.untag, prepared.mirror, f"agentforge/{record['id']}")
                else:
                    report.kept += 1
                    report.new += 1
                    per_function[site.function] += 1
            if record["status"] == REJECTED:
                report.rejected[record["reason"]] += 1
            async with written:  # instances.jsonl keeps the journal's order (a resume rebuilds it in that order)
                await asyncio.to_thread(journal.append, record)
                if record["status"] == KEPT:
                    await asyncio.to_thread(append_jsonl, instances_path, record["instance"])
            update(kept=report.kept, tried=report.resumed + report.tried)

    written = asyncio.Lock()
    await asyncio.gather(*(worker() for _ in range(max(1, options.concurrency))))
    update(note="done")
    return report


def _rebuild_instances(journal: SynthJournal, path: Path) -> dict[str, dict]:
    """instances.jsonl = the kept records of the journal, in journal order (undoes any torn append)."""
    done = journal.load()
    rows = [r["instance"] for r in done.values() if r.get("status") == KEPT and r.get("instance")]
    write_jsonl_atomic(path, rows)
    return done


async def synthesize_async(packages: Sequence[str | PackageRef], out_dir: str | Path, kind: str = "bwrap",
                           options: SynthOptions | None = None, teacher: Any = None,
                           console=None) -> SynthStats:
    options = options or SynthOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = resolve_kind(kind)
    refs = [p if isinstance(p, PackageRef) else PackageRef.parse(p) for p in packages]
    journal = SynthJournal(out_dir / "journal.jsonl")
    instances_path = out_dir / "instances.jsonl"
    done = _rebuild_instances(journal, instances_path)
    stats = SynthStats(out_dir=out_dir, instances_path=instances_path)
    backend = None
    if isinstance(teacher, str):
        from agentforge.models import make_model

        backend = await make_model(teacher)
    elif teacher is not None:
        backend = teacher
    started = time.monotonic()
    try:
        with _progress_bar(console, options.progress) as bar:
            for ref in refs:
                progress = _PackageProgress(bar, bar.add_task(str(ref), total=options.per_package, info=""))
                log = (lambda msg: bar.console.log(msg)) if options.progress else None
                report = await synthesize_package(ref, out_dir, kind, options, journal, done, instances_path,
                                                  progress=progress, teacher=backend, log=log)
                stats.packages.append(report)
                stats.new += report.new
    finally:
        if backend is not None and isinstance(teacher, str):
            await backend.aclose()
    stats.seconds = time.monotonic() - started
    stats.instances = sum(1 for line in instances_path.read_text().splitlines() if line.strip())
    (out_dir / "stats.json").write_text(json.dumps(stats.summary(), indent=2) + "\n")  # this run
    append_jsonl(out_dir / "stats-history.jsonl", stats.summary())  # every run, resumed ones included
    return stats


class _PackageProgress:
    """Updates one package's bar: kept instances as progress, tries and the current phase as text."""

    def __init__(self, bar, task):
        self.bar, self.task = bar, task
        self.state = {"kept": 0, "tried": 0, "note": ""}

    def __call__(self, kept: int | None = None, tried: int | None = None, note: str | None = None) -> None:
        self.state.update({k: v for k, v in (("kept", kept), ("tried", tried), ("note", note)) if v is not None})
        self.bar.update(self.task, completed=self.state["kept"],
                        info=f"tried {self.state['tried']} · {self.state['note']}")


def _progress_bar(console, enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        return NoProgress()
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                    console=console or Console(stderr=True), transient=False)


def synthesize(packages: Sequence[str | PackageRef], out_dir: str | Path, kind: str = "bwrap",
               per_package: int = 10, seed: int = 0, concurrency: int = 2, teacher: Any = None,
               progress: bool = True, **options: Any) -> SynthStats:
    """Make SWE-bench instances from `packages` (NAME==VERSION) into `out_dir`; resumable.

    `teacher` is a backend spec (e.g. `openai:qwen3-32b@http://host:8000/v1`) or a Backend
    that writes the problem statements; without one they are written from the test output.
    Further keyword options are the fields of `SynthOptions` (timeout, max_tries, ...).
    """
    opts = SynthOptions(per_package=per_package, seed=seed, concurrency=concurrency, progress=progress, **options)
    return asyncio.run(synthesize_async(packages, out_dir, kind, opts, teacher))
