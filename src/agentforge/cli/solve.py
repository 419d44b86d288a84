"""`agent solve PATH --issue TEXT`: the command around `solve()`, for a person at a terminal or a script.

- Defaults fit the model: the embedded model (135M parameters, an 8k context,
  tens of tokens a second on a CPU) gets fewer, shorter turns than a served
  model; flags given on the command line always win.
- Progress on any output: live rows on a terminal, a line per step elsewhere.
- Ctrl-C or SIGTERM stops the runs, saves what each had done (trajectory and
  changes so far), says where, and exits 130 or 143.
- The patch goes to stdout exactly as made; on a terminal its control
  characters are shown as visible stand-ins (agentforge.cli.terminal), so escape
  sequences cannot hide lines from the reviewer. OUT/patch.diff is exact.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, List, Optional

import typer
from rich.console import Console
from rich.text import Text

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.coding import CodingLimits
from agentforge.runtime.messages import Sampling
from agentforge.runtime.sandbox import Limits
from agentforge.solve import SolveError, SolveResult, solve
from agentforge.cli.common import CliError, consoles, fail, load_backend
from agentforge.cli.solve_progress import Progress, make_progress
from agentforge.cli.terminal import terminal_safe

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # the shell's 128 + signal number


@dataclass(frozen=True)
class RunDefaults:
    max_steps: int
    max_tokens: int
    context_tokens: int


# The embedded SmolLM2-135M: an 8k-token context holds the conversation plus one 512-token
# turn; 30 turns of at most 512 tokens end in minutes at its CPU speed, not in an hour.
SMALL_LOCAL = RunDefaults(max_steps=30, max_tokens=512, context_tokens=7_000)
SERVED = RunDefaults(max_steps=200, max_tokens=2048, context_tokens=64_000)  # the paper's SWE-bench setting


def defaults_for(spec: str) -> RunDefaults:
    """The run limits that suit the model a backend spec names (MODEL@best-of-N:SEL: those of MODEL)."""
    from agentforge.selectors.best_of_n import parse_virtual_model

    try:
        virtual = parse_virtual_model(spec)
    except ValueError:  # make_backend reports a malformed name
        virtual = None
    base = virtual[0] if virtual else spec
    return SMALL_LOCAL if base.partition(":")[0] == "embedded" else SERVED


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


def show_patch(patch: str, out: IO[str], err: Console, saved: Path) -> None:
    """Write the patch to `out`: exact, or with visible stand-ins for control characters on a terminal."""
    safe, hidden = terminal_safe(patch)
    terminal = out.isatty()
    out.write(safe if terminal else patch)
    out.flush()
    if hidden and terminal:
        err.print(Text(f"note: the patch holds {hidden} terminal control character{'s' if hidden != 1 else ''}, "
                       f"shown above as ␛, ␍, <U+…>; {saved} holds the exact patch", style="yellow"),
                  soft_wrap=True)
    elif hidden:
        err.print(Text(f"warning: the patch holds {hidden} terminal control character{'s' if hidden != 1 else ''}"
                       f" (escape sequences can hide lines on a terminal); review it with: cat -v {saved}",
                       style="yellow"), soft_wrap=True)


def interrupted_summary(how: str, out_dir: Path, since: float) -> list[str]:
    """What a stopped run had done and where it is saved, from the summary.json solve() wrote."""
    path = out_dir / "summary.json"
    try:
        if path.stat().st_mtime < since - 1.0:  # (a second of slack for coarse file times)
            raise FileNotFoundError(path)  # an older run's, in a reused --out
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        return [f"stopped by {how} before any agent step; nothing was saved"]
    candidates = summary.get("candidates") or []
    steps = sum(c.get("steps", 0) for c in candidates)
    tokens = sum(c.get("tokens", 0) for c in candidates)
    lines = [f"stopped by {how} after {_count(steps, 'step')} ({tokens} tokens generated); saved in {out_dir}/"]
    for c in candidates:
        diff = out_dir / c["patch"]
        files = diff.read_text().count("diff --git ") if diff.exists() else 0
        parts = [f"#{c['index']} {c['status']}", _count(c.get("steps", 0), "step"), f"{c.get('tokens', 0)} tokens"]
        if c.get("trajectory"):
            parts.append(f"trajectory {c['trajectory']}")
        parts.append(f"changes so far {c['patch']} ({_count(files, 'file')})")
        lines.append("  " + " · ".join(parts))
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


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
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", min=1, help="Model turns per run (default: "
                                                     f"{SMALL_LOCAL.max_steps} for the embedded model, else "
                                                     f"{SERVED.max_steps}).")] = None,
    action_format: Annotated[Format, typer.Option("--format", help="text: a bash block per turn; tools: native "
                                                  "tool calls.")] = Format.text,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory for patch.diff, trajectories/, "
                                                "patches/ and summary.json.")] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.7,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")] = 0.95,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="Tokens per model turn "
                                                      f"(default: {SMALL_LOCAL.max_tokens} for the embedded "
                                                      f"model, else {SERVED.max_tokens}).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Sampling seed (candidate i uses seed + i).")] = None,
    context_tokens: Annotated[Optional[int], typer.Option("--context-tokens", min=1, help="Stop a run when its "
                                                          "conversation reaches about this many tokens (default: "
                                                          f"{SMALL_LOCAL.context_tokens} for the embedded model, "
                                                          f"else {SERVED.context_tokens}).")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Wall seconds per run.")] = None,
    command_timeout: Annotated[float, typer.Option("--command-timeout", help="Seconds per agent command.")] = 120.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Runs at the same time.")] = 4,
    pip: Annotated[Optional[List[str]], typer.Option("--pip", metavar="REQUIREMENT", help="Requirement to install "
                                                     "into a cached venv the commands use (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Run a coding agent on a local repository and print the patch that resolves the issue."""
    _, err = consoles()

    if (issue is None) == (issue_file is None):
        fail(err, "give the issue with exactly one of --issue TEXT or --issue-file FILE")
    if issue_file is not None:
        try:
            issue = issue_file.read_text()
        except OSError as e:
            fail(err, f"cannot read the issue file: {e}")
    if not (issue or "").strip():
        fail(err, "the issue is empty")
    if not path.is_dir():
        fail(err, f"{path} is not a directory")
    out_dir = out or default_out_dir()
    fit = defaults_for(model)
    if fit is SMALL_LOCAL and None in (max_steps, max_tokens, context_tokens) and not quiet:
        err.print(Text(f"{model}: a small local model, so at most {max_steps or fit.max_steps} turns of "
                       f"{max_tokens or fit.max_tokens} tokens and a {context_tokens or fit.context_tokens}-token "
                       "conversation (--max-steps, --max-tokens, --context-tokens change them)", style="dim"),
                  soft_wrap=True)
    sampling = Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens or fit.max_tokens, seed=seed)
    limits = CodingLimits(max_steps=max_steps or fit.max_steps, context_tokens=context_tokens or fit.context_tokens,
                          max_seconds=time_limit)
    method = select.value if select else None
    stopped_by: list[str] = []  # the signal that stopped the run, if one did
    started = time.time()

    async def main() -> SolveResult:
        _stop_on_signals(stopped_by)
        if not err.is_terminal and not quiet:
            err.print(f"solve: loading {model}…", markup=False)
        try:
            backend = await load_backend(model, err)
        except CliError as e:
            raise SolveError(str(e)) from None
        try:
            with make_progress(err, n, quiet) as progress:
                return await _solve(backend, progress)
        finally:
            await backend.aclose()

    async def _solve(backend: Backend, progress: Progress) -> SolveResult:
        return await solve(path, issue or "", backend, n=n, select=method, test_cmd=test_cmd,
                           sandbox=sandbox.value, action_format=action_format.value, sampling=sampling,
                           limits=limits, sandbox_limits=Limits(timeout=command_timeout), concurrency=concurrency,
                           pip=pip, out=out_dir, progress=progress,
                           log=lambda m: err.print(m, style="dim", markup=False))

    try:
        result = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        how = stopped_by[0] if stopped_by else "SIGINT"
        for line in interrupted_summary(how, out_dir, started):
            err.print(Text(line, style="yellow"), soft_wrap=True)
        raise typer.Exit(EXIT_CODES[how]) from None
    except SolveError as e:
        fail(err, str(e))
    except Exception as e:  # noqa: BLE001 - e.g. an environment that failed to build: say what, no traceback
        fail(err, f"{type(e).__name__}: {e}")
    show_patch(result.patch, sys.stdout, err, out_dir / "patch.diff")
    if result.chosen is None:
        statuses = ", ".join(r.status for r in result.candidates)
        err.print(Text(f"no patch: the agent changed nothing ({statuses}; trajectories in {out_dir})",
                       style="yellow"), soft_wrap=True)
        raise typer.Exit(1)
    r = result.candidates[result.chosen]
    how = f"candidate {result.chosen} of {len(result.candidates)} by {result.select}, " if n > 1 else ""
    err.print(Text.assemble(("patch", "green"), (f" ({how}{r.status}, {_count(r.steps, 'step')}, {r.tokens} tokens) → "
                                                 f"{out_dir / 'patch.diff'}", "dim")), soft_wrap=True)


def _stop_on_signals(stopped_by: list[str]) -> None:
    """Ctrl-C and SIGTERM cancel the command's task: solve() saves each run's state on the way out.
    A second signal cancels again, cutting that saving short."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    for sig in (signal.SIGINT, signal.SIGTERM):
        def stop(name: str = sig.name) -> None:
            stopped_by.append(name)
            if task is not None:
                task.cancel()
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            pass
