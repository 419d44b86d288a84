"""`agent solve`: run the coding agent on a local repository and print a patch.

The user's repository is never touched: the agent works on a snapshot, a
`git clone --no-hardlinks` of PATH at HEAD onto which the uncommitted changes
(staged, unstaged and untracked files that are not ignored) are copied and
committed. The patch is taken against that snapshot commit, so it applies to
the user's working tree as it is (`git apply patch.diff`). Git runs on the
host only in repositories this module made and no agent has touched yet; in
an agent's workspace it runs inside the sandbox.

With `n > 1`, N independent runs (concurrently, at most `concurrency` at a
time) produce candidates and one is selected:
- tests: each distinct patch is applied to a fresh snapshot and `test_cmd`
  runs in the sandbox; passing candidates win, ties go to Agent Confidence;
- confidence: Agent Confidence Select (mean DeepConf token confidence);
- vote: majority over normalized patches;
- first: the first candidate.
Only candidates that changed something compete, and submitted runs are
preferred over runs a limit stopped (after passing tests, for `tests`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, List, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding import CodingLimits, CodingResult, run_coding_agent
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import Limits, SandboxError
from agentforge.runtime.trajectory import Step, Trajectory, write_atomic
from agentforge.selectors import select as run_selector

SELECT_METHODS = ("tests", "confidence", "vote", "first")
DEFAULT_TEST_CMD = "python3 -m pytest -q"
PYTHON_MARKERS = ("pytest.ini", "pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "conftest.py")
TOP_LOGPROBS = 20  # alternatives per token for Agent Confidence
GIT_IDENTITY = ["-c", "user.name=agentforge", "-c", "user.email=agentforge@localhost", "-c", "commit.gpgsign=false"]


class SolveError(RuntimeError):
    """An expected failure (not a repository, no test command, ...): the message says what to do."""


@dataclass
class CandidateRun:
    index: int
    result: CodingResult | None = None
    error: str | None = None  # the run could not happen (the sandbox did not start, ...)
    tests_passed: bool | None = None  # None: not tested
    test_output: str = ""

    @property
    def patch(self) -> str:
        return self.result.patch if self.result else ""

    @property
    def status(self) -> str:
        return self.result.status if self.result else "failed"


@dataclass
class SolveResult:
    patch: str  # the selected patch ("" if no candidate changed anything)
    chosen: int | None  # index of the selected candidate
    select: str
    candidates: list[CandidateRun] = field(default_factory=list)
    base_commit: str | None = None
    test_cmd: str | None = None


# ---------------------------------------------------------------- the snapshot


def _git(args: list[str], cwd: Path, input: bytes | None = None) -> bytes:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, env=env)
    if proc.returncode != 0:
        raise SolveError(f"git {' '.join(args[:3])} failed in {cwd}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _paths(output: bytes) -> list[str]:
    return [os.fsdecode(p) for p in output.split(b"\0") if p]


def _copy_entry(src: Path, dst: Path) -> None:
    """Make dst what src is (a file or a symlink), or remove dst if src is gone."""
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.is_dir():
        shutil.rmtree(dst)
    if src.is_symlink() or src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


def snapshot_repository(path: Path, dest: Path) -> str:
    """Copy the repository at `path` (its working tree as it is now) to a new
    git repository at `dest` and return the commit the agent starts from.

    Reads the user's repository with git (clone, diff --name-only, ls-files)
    and copies files out of it; writes nothing there."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise SolveError(f"{path} is not a directory")
    probe = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True,
                           env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    top = Path(probe.stdout.decode().strip()) if probe.returncode == 0 else None
    head = None
    if top is not None:
        probe = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=top, capture_output=True)
        head = probe.stdout.decode().strip() if probe.returncode == 0 else None

    if top is None:  # not a git repository: every file, in a new repository
        shutil.copytree(path, dest, symlinks=True)
        _git(["init", "-q"], dest)
    elif head is None:  # a repository without commits: tracked and untracked files
        dest.mkdir(parents=True)
        _git(["init", "-q"], dest)
        for p in _paths(_git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], top)):
            _copy_entry(top / p, dest / p)
    else:
        _git(["clone", "--quiet", "--no-hardlinks", "--no-checkout", str(top), str(dest)], path)
        _git(["remote", "remove", "origin"], dest)  # no way back to the user's repository from the workspace
        _git(["checkout", "--quiet", "-B", "agentforge", head], dest)
        changed = _paths(_git(["diff", "HEAD", "--name-only", "--no-renames", "-z"], top))
        untracked = _paths(_git(["ls-files", "-z", "--others", "--exclude-standard"], top))
        for p in dict.fromkeys(changed + untracked):
            if (top / p).is_dir() and not (top / p).is_symlink():
                continue  # a submodule: left as committed
            _copy_entry(top / p, dest / p)
    _git(["add", "-A"], dest)
    if head is None or _git(["status", "--porcelain"], dest).strip():
        _git([*GIT_IDENTITY, "commit", "-q", "--no-verify", "--allow-empty", "-m",
              "agentforge: snapshot of the working tree"], dest)
    return _git(["rev-parse", "HEAD"], dest).decode().strip()


def detect_test_command(path: Path) -> str | None:
    """A default test command for the repository, if it looks like a Python project."""
    path = Path(path)
    if any((path / m).exists() for m in PYTHON_MARKERS) or (path / "tests").is_dir():
        return DEFAULT_TEST_CMD
    for pattern in ("test_*.py", "*_test.py"):
        if next(path.rglob(pattern), None) is not None:
            return DEFAULT_TEST_CMD
    return None


# ---------------------------------------------------------------- selection


def choose(runs: list[CandidateRun], method: str) -> int | None:
    """Index (into runs) of the selected candidate; None if none changed anything."""
    if method not in SELECT_METHODS:
        raise SolveError(f"unknown selection {method!r}; use one of {', '.join(SELECT_METHODS)}")
    pool = [r for r in runs if r.patch.strip()]
    if not pool:
        return None
    if method == "tests" and any(r.tests_passed for r in pool):
        pool = [r for r in pool if r.tests_passed]
    if any(r.result and r.result.submitted for r in pool):
        pool = [r for r in pool if r.result and r.result.submitted]
    if method == "first":
        return pool[0].index
    selector = "vote" if method == "vote" else "confidence"
    candidates = [r.result.candidate(correct=r.tests_passed) for r in pool if r.result]
    return pool[run_selector(candidates, selector)].index


# ---------------------------------------------------------------- progress


class SolveProgress:
    """One live line per candidate: its status, step count and last command."""

    def __init__(self, console: Console, n: int):
        self.rows = [{"status": "waiting", "steps": 0, "last": ""} for _ in range(n)]
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> "SolveProgress":
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.update(self._table())
        self.live.__exit__(*exc)
        if not self.live.console.is_terminal:  # rich ends the last line itself only on a terminal
            self.live.console.line()

    def update(self, index: int, **changes: Any) -> None:
        self.rows[index].update(changes)
        self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
        for name, kw in (("#", {"justify": "right"}), ("status", {}), ("steps", {"justify": "right"}),
                         ("last command", {"overflow": "ellipsis", "no_wrap": True})):
            table.add_column(name, **kw)
        for i, row in enumerate(self.rows):
            status = row["status"]
            style = {"submitted": "green", "tests pass": "bold green", "failed": "red", "model_error": "red",
                     "tests fail": "yellow"}.get(status, "cyan" if status == "running" else "yellow")
            last = (row["last"] or "").strip().splitlines()
            table.add_row(str(i), Text(status, style=style), str(row["steps"]),
                          Text((last[0][:100] + (" …" if len(last) > 1 else "")) if last else "", style="dim"))
        return table


# ---------------------------------------------------------------- solve


async def solve(
    path: str | Path,
    issue: str,
    backend: Backend,
    *,
    n: int = 1,
    select: str | None = None,
    test_cmd: str | None = None,
    sandbox: str = "auto",
    action_format: str = "text",
    sampling: Sampling | None = None,
    limits: CodingLimits | None = None,
    sandbox_limits: Limits | None = None,
    test_timeout: float = 900.0,
    concurrency: int = 4,
    pip: list[str] | None = None,
    out: str | Path | None = None,
    progress: SolveProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> SolveResult:
    """Run `n` agents on copies of the repository at `path` and return the selected patch.

    `select` defaults to "tests" when a test command is given, else "confidence".
    `out` (optional) receives patch.diff, patches/<i>.diff, trajectories/<i>.json
    (saved after every step) and summary.json.
    """
    from agentforge.harnesses.swebench.environment import EnvSpec, build_env, env_sandbox
    from agentforge.runtime.sandbox import resolve_kind

    if n < 1:
        raise SolveError("-n must be at least 1")
    select = select or ("tests" if test_cmd else "confidence")
    if select not in SELECT_METHODS:
        raise SolveError(f"unknown selection {select!r}; use one of {', '.join(SELECT_METHODS)}")
    try:
        kind = resolve_kind(sandbox)
    except SandboxError as e:
        raise SolveError(str(e)) from None
    sampling = sampling or Sampling(temperature=0.7, top_p=0.95, max_tokens=2048)
    limits = limits or CodingLimits()
    sandbox_limits = sandbox_limits or Limits()
    out = Path(out) if out is not None else None
    say = log or (lambda message: None)
    env = None
    if pip:
        say(f"preparing the environment ({', '.join(pip)})…")
        env = await build_env(EnvSpec(pip=list(pip)), kind, log=say)

    with tempfile.TemporaryDirectory(prefix="agentforge-solve-") as scratch:
        work = Path(scratch)
        snapshot = work / "snapshot"
        base = await asyncio.to_thread(snapshot_repository, Path(path), snapshot)
        if select == "tests" and n > 1 and not test_cmd:
            test_cmd = detect_test_command(snapshot)
            if not test_cmd:
                raise SolveError("--select tests needs --test-cmd: no test command could be detected")
        gate = asyncio.Semaphore(max(1, concurrency))
        wants_confidence = n > 1 and select in ("tests", "confidence")  # confidence decides (or breaks ties)
        runs = [CandidateRun(i) for i in range(n)]

        async def one(run: CandidateRun) -> None:
            i = run.index
            async with gate:
                workspace = work / f"candidate-{i}"
                await asyncio.to_thread(shutil.copytree, snapshot, workspace, symlinks=True)

                def on_step(traj: Trajectory, step: Step) -> None:
                    if progress is not None:
                        actions = traj.metadata.get("actions") or [""]
                        progress.update(i, steps=len(traj.steps), last=actions[-1] or "(format error)")

                if progress is not None:
                    progress.update(i, status="running")
                seed = None if sampling.seed is None else sampling.seed + i
                try:
                    async with env_sandbox(kind, workspace, env, sandbox_limits) as box:
                        run.result = await run_coding_agent(
                            backend, box, issue, action_format=action_format,  # type: ignore[arg-type]
                            sampling=sampling.merged(seed=seed), limits=limits, base_commit=base,
                            top_logprobs=TOP_LOGPROBS if wants_confidence else None,
                            task_id=f"solve-{i}", on_step=on_step,
                            save_to=out / "trajectories" / f"{i}.json" if out else None)
                except Exception as e:  # noqa: BLE001 - one failed run must not take the others down
                    run.error = str(e) if isinstance(e, SandboxError) else f"{type(e).__name__}: {e}"
                if progress is not None:
                    progress.update(i, status=run.status if run.error is None else "failed")
                await asyncio.to_thread(shutil.rmtree, workspace, True)

        await asyncio.gather(*(one(r) for r in runs))

        if select == "tests" and n > 1:
            await _test_candidates(runs, work, snapshot, kind, env, test_cmd or "", test_timeout, sandbox_limits,
                                   gate, progress)
        chosen = choose(runs, select) if n > 1 else (0 if runs[0].patch.strip() else None)

    patch = runs[chosen].patch if chosen is not None else ""
    result = SolveResult(patch=patch, chosen=chosen, select=select, candidates=runs, base_commit=base,
                         test_cmd=test_cmd if select == "tests" and n > 1 else None)
    if out is not None:
        _write_outputs(out, result)
    return result


async def _test_candidates(runs, work, snapshot, kind, env, test_cmd, timeout, sandbox_limits, gate, progress):
    """Run the tests once per distinct candidate patch, on a fresh snapshot each."""
    from agentforge.harnesses.swebench.environment import env_sandbox
    from agentforge.runtime.coding import normalize_patch

    by_patch: dict[str, list[CandidateRun]] = {}
    for r in runs:
        if r.patch.strip():
            by_patch.setdefault(normalize_patch(r.patch), []).append(r)
    limits = dataclasses.replace(sandbox_limits, timeout=timeout)

    async def test(key: str, group: list[CandidateRun]) -> None:
        first = group[0]
        async with gate:
            for r in group:
                if progress is not None:
                    progress.update(r.index, status="testing")
            workspace = work / f"test-{first.index}"
            await asyncio.to_thread(shutil.copytree, snapshot, workspace, symlinks=True)
            try:
                _git(["apply", "--whitespace=nowarn", "-"], workspace, input=first.patch.encode())
            except SolveError as e:
                passed, output = False, f"the patch does not apply: {e}"
            else:
                try:
                    async with env_sandbox(kind, workspace, env, limits) as box:
                        result = await box.exec(test_cmd)
                    passed, output = result.ok, result.observation()
                except SandboxError as e:
                    passed, output = False, f"the sandbox failed: {e}"
            await asyncio.to_thread(shutil.rmtree, workspace, True)
        for r in group:
            r.tests_passed, r.test_output = passed, output
            if progress is not None:
                progress.update(r.index, status="tests pass" if passed else "tests fail")

    await asyncio.gather(*(test(k, g) for k, g in by_patch.items()))


def _write_outputs(out: Path, result: SolveResult) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "patch.diff", result.patch)
    for r in result.candidates:
        write_atomic(out / "patches" / f"{r.index}.diff", r.patch)
    summary = {
        "chosen": result.chosen, "select": result.select, "base_commit": result.base_commit,
        "test_cmd": result.test_cmd,
        "candidates": [{
            "index": r.index, "status": r.status, "steps": r.result.steps if r.result else 0,
            "confidence": r.result.confidence if r.result and r.result.token_confidences else None,
            "tests_passed": r.tests_passed, "error": r.error or (r.result.error if r.result else None),
            "patch": f"patches/{r.index}.diff", "trajectory": f"trajectories/{r.index}.json",
        } for r in result.candidates],
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")


# ---------------------------------------------------------------- the command


class SandboxKind(str, Enum):
    auto = "auto"
    bwrap = "bwrap"
    docker = "docker"
    local = "local"


class Selection(str, Enum):
    tests = "tests"
    confidence = "confidence"
    vote = "vote"
    first = "first"


class Format(str, Enum):
    text = "text"
    tools = "tools"


def default_out_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agentforge")) / "solve" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def solve_command(
    path: Annotated[Path, typer.Argument(help="The repository to work on (never modified: the agent works on "
                                         "a copy).")],
    issue: Annotated[Optional[str], typer.Option("--issue", help="The issue to solve, as text.")] = None,
    issue_file: Annotated[Optional[Path], typer.Option("--issue-file", help="A file holding the issue text.")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Backend spec: embedded, embedded:int8, "
                                       "openai:<model>@<url>, litellm:<model>, vllm:<model>.")] = "embedded",
    sandbox: Annotated[SandboxKind, typer.Option("--sandbox", help="Where commands run; auto = bwrap, else docker. "
                                                 "local has no isolation.")] = SandboxKind.auto,
    n: Annotated[int, typer.Option("-n", "--candidates", min=1, help="Independent agent runs to select from.")] = 1,
    select: Annotated[Optional[Selection], typer.Option("--select", help="How to pick among N candidates "
                                                        "(default: tests with --test-cmd, else confidence).")] = None,
    test_cmd: Annotated[Optional[str], typer.Option("--test-cmd", help="Command whose success marks a good "
                                                    "candidate (--select tests; default: python3 -m pytest -q "
                                                    "for Python projects).")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, help="Model turns per run.")] = 200,
    action_format: Annotated[Format, typer.Option("--format", help="text: a bash block per turn; tools: native "
                                                  "tool calls.")] = Format.text,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory for patch.diff, trajectories/, "
                                                "patches/ and summary.json.")] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.7,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")] = 0.95,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens per model turn.")] = 2048,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Sampling seed (candidate i uses seed + i).")] = None,
    context_tokens: Annotated[int, typer.Option("--context-tokens", min=1, help="Stop a run when its "
                                                "conversation reaches about this many tokens.")] = 64_000,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Wall seconds per run.")] = None,
    command_timeout: Annotated[float, typer.Option("--command-timeout", help="Seconds per agent command.")] = 120.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Runs at the same time.")] = 4,
    pip: Annotated[Optional[List[str]], typer.Option("--pip", metavar="REQUIREMENT", help="Requirement to install "
                                                     "into a cached venv the commands use (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress.")] = False,
) -> None:
    """Run a coding agent on a local repository and print the patch that resolves the issue."""
    err = Console(stderr=True, highlight=False)

    def fail(message: str) -> None:
        err.print(Text("error: ", style="bold red") + Text(message, style="red"), soft_wrap=True)
        raise typer.Exit(1)

    if (issue is None) == (issue_file is None):
        fail("give the issue with exactly one of --issue TEXT or --issue-file FILE")
    if issue_file is not None:
        try:
            issue = issue_file.read_text()
        except OSError as e:
            fail(f"cannot read the issue file: {e}")
    if not (issue or "").strip():
        fail("the issue is empty")
    if not path.is_dir():
        fail(f"{path} is not a directory")
    out_dir = out or default_out_dir()
    sampling = Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
    limits = CodingLimits(max_steps=max_steps, context_tokens=context_tokens, max_seconds=time_limit)
    method = select.value if select else None

    async def main() -> SolveResult:
        from agentforge.runtime.backends import BackendError, make_backend

        try:
            with err.status(f"loading model… [dim]({escape(model)})[/]"):
                backend = await make_backend(model)
        except (ValueError, FileNotFoundError, BackendError, ModuleNotFoundError) as e:
            raise SolveError(f"cannot start backend {model!r}: {e}") from None
        try:
            progress = None if quiet else SolveProgress(err, n)
            if progress is None:
                return await _solve(backend, None)
            with progress:
                return await _solve(backend, progress)
        finally:
            await backend.aclose()

    async def _solve(backend: Backend, progress: SolveProgress | None) -> SolveResult:
        return await solve(path, issue or "", backend, n=n, select=method, test_cmd=test_cmd,
                           sandbox=sandbox.value, action_format=action_format.value, sampling=sampling,
                           limits=limits, sandbox_limits=Limits(timeout=command_timeout), concurrency=concurrency,
                           pip=pip, out=out_dir, progress=progress, log=lambda m: err.print(m, style="dim"))

    try:
        result = asyncio.run(main())
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/] [dim](trajectories so far in {out_dir})[/]")
        raise typer.Exit(130) from None
    except SolveError as e:
        fail(str(e))
    except Exception as e:  # noqa: BLE001 - e.g. an environment that failed to build: say what, no traceback
        fail(f"{type(e).__name__}: {e}")
    sys.stdout.write(result.patch)
    sys.stdout.flush()
    if result.chosen is None:
        statuses = ", ".join(r.status for r in result.candidates)
        err.print(f"[yellow]no patch: the agent changed nothing[/] [dim]({statuses}; trajectories in {out_dir})[/]")
        raise typer.Exit(1)
    r = result.candidates[result.chosen]
    how = f"candidate {result.chosen} of {len(result.candidates)} by {result.select}, " if n > 1 else ""
    err.print(f"[green]patch[/] [dim]({how}{r.status}, {r.result.steps if r.result else 0} steps) → "
              f"{out_dir / 'patch.diff'}[/]")
