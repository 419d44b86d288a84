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

The command around it (defaults, signals, printing) is in cli/solve.py, what
it shows while it works in cli/solve_progress.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding import CodingLimits, CodingResult, normalize_patch, run_coding_agent
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import Limits, SandboxError
from agentforge.runtime.trajectory import Step, Trajectory, write_atomic
from agentforge.selectors import Candidate
from agentforge.selectors import select as run_selector


class Progress(Protocol):
    """Where solve() reports each candidate's status, steps, tokens and last command
    (the CLI's displays in cli/solve_progress.py are such objects)."""

    def update(self, index: int, **changes: Any) -> None: ...

SELECT_METHODS = ("tests", "confidence", "vote", "first")
DEFAULT_TEST_CMD = "python3 -m pytest -q"
PYTHON_MARKERS = ("pytest.ini", "pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "conftest.py")
TOP_LOGPROBS = 20  # alternatives per token for Agent Confidence
PARTIAL_DIFF_SECONDS = 10.0  # an interrupted run's changes so far: git diff must be quick, the user is waiting
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
    trajectory: Trajectory | None = None  # as of the last step, also while the run goes on
    started: bool = False  # its agent began (a sandbox is up, the first model call made)
    interrupted: bool = False  # cancelled (Ctrl-C, SIGTERM) before it finished
    patch_so_far: str = ""  # an interrupted run's changes, when they could be taken

    @property
    def patch(self) -> str:
        return self.result.patch if self.result else ""

    @property
    def status(self) -> str:
        if self.result:
            return self.result.status
        if self.interrupted:
            return "interrupted" if self.started else "not started"
        return "failed"

    @property
    def steps(self) -> int:
        traj = self.result.trajectory if self.result else self.trajectory
        return len(traj.steps) if traj else 0

    @property
    def tokens(self) -> int:
        """Tokens the model generated in this run."""
        traj = self.result.trajectory if self.result else self.trajectory
        return traj.generated_tokens if traj else 0


@dataclass
class SolveResult:
    patch: str  # the selected patch ("" if no candidate changed anything)
    chosen: int | None  # index of the selected candidate
    select: str
    candidates: list[CandidateRun] = field(default_factory=list)
    base_commit: str | None = None
    test_cmd: str | None = None
    interrupted: bool = False  # the runs were cancelled: candidates hold what they had done


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
    candidates = [coding_candidate(r.result, correct=r.tests_passed) for r in pool if r.result]
    return pool[run_selector(candidates, selector)].index


def coding_candidate(result: CodingResult, correct: bool | None = None) -> Candidate:
    """A coding run as a selection candidate: its normalized patch is the answer it votes for."""
    return Candidate(answer=normalize_patch(result.patch), token_logprobs=list(result.token_logprobs),
                     token_confidences=list(result.token_confidences), correct=correct, text=result.patch)


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
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> SolveResult:
    """Run `n` agents on copies of the repository at `path` and return the selected patch.

    `select` defaults to "tests" when a test command is given, else "confidence".
    `out` (optional) receives patch.diff, patches/<i>.diff, trajectories/<i>.json
    (saved after every step) and summary.json. When the runs are cancelled
    (Ctrl-C, SIGTERM), each running candidate's changes so far are taken and
    `out` gets them with summary.json ("interrupted": true) before the
    cancellation goes on.
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
                    run.trajectory = traj
                    if progress is not None:
                        actions = traj.metadata.get("actions") or [""]
                        progress.update(i, steps=len(traj.steps), tokens=traj.generated_tokens,
                                        last=actions[-1] or "(format error)")

                if progress is not None:
                    progress.update(i, status="running")
                seed = None if sampling.seed is None else sampling.seed + i
                try:
                    async with env_sandbox(kind, workspace, env, sandbox_limits) as box:
                        run.started = True
                        try:
                            run.result = await run_coding_agent(
                                backend, box, issue, action_format=action_format,  # type: ignore[arg-type]
                                sampling=sampling.merged(seed=seed), limits=limits, base_commit=base,
                                top_logprobs=TOP_LOGPROBS if wants_confidence else None,
                                task_id=f"solve-{i}", on_step=on_step,
                                save_to=out / "trajectories" / f"{i}.json" if out else None)
                        except asyncio.CancelledError:
                            run.patch_so_far = await _patch_so_far(box, base)
                            raise
                except Exception as e:  # noqa: BLE001 - one failed run must not take the others down
                    run.error = str(e) if isinstance(e, SandboxError) else f"{type(e).__name__}: {e}"
                if progress is not None:
                    progress.update(i, status=run.status if run.error is None else "failed")
                await asyncio.to_thread(shutil.rmtree, workspace, True)

        try:
            await _every(one(r) for r in runs)
            if select == "tests" and n > 1:
                await _test_candidates(runs, work, snapshot, kind, env, test_cmd or "", test_timeout,
                                       sandbox_limits, gate, progress)
        except asyncio.CancelledError:
            for r in runs:
                r.interrupted = r.result is None and r.error is None
            if out is not None:
                _write_outputs(out, SolveResult(patch=runs[0].patch_so_far if n == 1 else "", chosen=None,
                                                select=select, candidates=runs, base_commit=base,
                                                interrupted=True))
            raise
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

    await _every(test(k, g) for k, g in by_patch.items())


async def _every(coros) -> None:
    """Await all of them to their end, also when cancelled. (A plain gather returns at the first
    cancelled one, while the others still save their state in a directory about to be removed.)"""
    for outcome in await asyncio.gather(*coros, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


async def _patch_so_far(box, base: str) -> str:
    """A cancelled run's changes, taken in its sandbox within PARTIAL_DIFF_SECONDS ("" if not)."""
    try:
        return await asyncio.wait_for(box.diff(base), PARTIAL_DIFF_SECONDS)
    except Exception:  # noqa: BLE001 - the run is being given up: its trajectory is saved either way
        return ""


def _write_outputs(out: Path, result: SolveResult) -> None:
    """patch.diff, patches/<i>.diff and summary.json (an interrupted run: what each candidate had done)."""
    out.mkdir(parents=True, exist_ok=True)
    if not result.interrupted or len(result.candidates) == 1:
        write_atomic(out / "patch.diff", result.patch)
    for r in result.candidates:
        write_atomic(out / "patches" / f"{r.index}.diff", r.patch or r.patch_so_far)
    summary = {
        "chosen": result.chosen, "select": result.select, "base_commit": result.base_commit,
        "test_cmd": result.test_cmd, "interrupted": result.interrupted,
        "candidates": [{
            "index": r.index, "status": r.status, "steps": r.steps, "tokens": r.tokens,
            "confidence": r.result.confidence if r.result and r.result.token_confidences else None,
            "tests_passed": r.tests_passed, "error": r.error or (r.result.error if r.result else None),
            "patch": f"patches/{r.index}.diff",
            "trajectory": f"trajectories/{r.index}.json" if r.result or r.trajectory else None,
        } for r in result.candidates],
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
