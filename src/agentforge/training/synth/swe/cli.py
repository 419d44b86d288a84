"""`agent train synth swe` and `swe-traj`: the typer commands (thin: they parse, then call the pipeline)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

synth_app = typer.Typer(help="Data synthesis.", no_args_is_help=True)

DEFAULT_OUT = "runs/swe-synth"


@synth_app.callback()
def _synth() -> None:
    """Data synthesis (`swe`: SWE-bench tasks from mutated PyPI packages; `swe-traj`: coding trajectories for SFT)."""


@synth_app.command()
def swe(
    package: Annotated[Optional[List[str]], typer.Option(
        "--package", "-p", help="NAME==VERSION of a pure-Python PyPI package whose sdist ships its tests; "
        "repeatable. Default: the built-in list.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (resumes if it exists): "
                                      "instances.jsonl, repos/, journal.jsonl, stats.json.")] = Path(DEFAULT_OUT),
    per_package: Annotated[int, typer.Option("--per-package", "-n", min=1,
                                             help="Instances to keep per package.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the order mutations are tried in.")] = 0,
    sandbox: Annotated[str, typer.Option("--sandbox", help="auto, bwrap, docker or local (no isolation).")] = "auto",
    concurrency: Annotated[int, typer.Option(min=1, help="Mutations tested at once.")] = 2,
    teacher: Annotated[Optional[str], typer.Option(
        "--teacher", help="Backend spec of a model that writes the problem statements (e.g. "
        "openai:<model>@<url>); default: written from the failing tests.")] = None,
    timeout: Annotated[float, typer.Option(min=1.0, help="Upper bound on one test-suite run, seconds (each run "
                                           "gets min(this, 5 x the baseline run)).")] = 300.0,
    max_tries: Annotated[Optional[int], typer.Option(min=1, help="Mutations tried per package in this run "
                                                     "(default 4 x per-package + 20).")] = None,
    validate: Annotated[bool, typer.Option(help="Grade the gold and the empty patch with the harness before "
                                           "keeping an instance.")] = True,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Make SWE-bench instances by mutating real packages and keeping the bugs their tests catch."""
    from rich.console import Console
    from rich.markup import escape  # messages hold `[docker]`-style extras: not markup

    from agentforge.runtime.sandbox import SandboxError
    from agentforge.training.synth.swe.build import SynthOptions, synthesize_async
    from agentforge.training.synth.swe.sdist import DEFAULT_PACKAGES, PackageRef

    err = Console(stderr=True)
    _check_sandbox(err, sandbox)
    try:
        refs = [PackageRef.parse(p) for p in (package or DEFAULT_PACKAGES)]
    except ValueError as e:
        err.print(f"[red]error:[/] --package: {escape(str(e))}")
        raise typer.Exit(2) from None
    options = SynthOptions(per_package=per_package, seed=seed, concurrency=concurrency, timeout=timeout,
                           max_tries=max_tries, validate=validate, progress=progress)
    try:
        stats = asyncio.run(synthesize_async(refs, out, sandbox, options, teacher, console=err))
    except SandboxError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted; run the same command again to resume")
        raise typer.Exit(130) from None
    for report in stats.packages:
        line = f"{escape(report.package)}: kept {report.kept} (new {report.new}), tried {report.tried}"
        if report.rejected:
            line += " · rejected " + ", ".join(f"{k} {v}" for k, v in sorted(report.rejected.items()))
        if report.error:
            line += f" · [red]failed:[/] {escape(report.error.splitlines()[0])}"
        err.print(line)
    err.print(f"{stats.instances} instances in {escape(str(stats.instances_path))} ({stats.new} new, {stats.seconds:.0f} s)")
    typer.echo(json.dumps(stats.summary()))
    if not stats.instances and any(r.error for r in stats.packages):
        raise typer.Exit(1)


@synth_app.command("swe-traj")
def swe_traj(
    instances: Annotated[Optional[Path], typer.Option(
        "--instances", "-i", help="instances.jsonl of `agent train synth swe`: play each gold fix through the "
        "code agent (scripted trajectories).")] = None,
    repos: Annotated[Optional[Path], typer.Option(
        "--repos", help="Their git mirrors (default: repos/ next to the instances file).")] = None,
    from_run: Annotated[Optional[List[Path]], typer.Option(
        "--from-run", help="An `agent bench swebench` run directory: keep its resolved, submit-ready "
        "trajectories (distilled); repeatable.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (resumes if it exists): "
                                      "trajectories.jsonl, stats.json, run/ (the scripted benchmark run).")]
    = Path("runs/swe-traj"),
    sandbox: Annotated[str, typer.Option("--sandbox", help="auto, bwrap, docker or local (no isolation).")] = "auto",
    concurrency: Annotated[int, typer.Option(min=1, help="Instances played at once.")] = 1,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N instances.")] = None,
    max_tokens: Annotated[int, typer.Option(min=0, help="Leave out records longer than this many tokens "
                                            "(embedded tokenizer, chat template); 0 keeps all.")] = 0,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Coding trajectories for SFT, as {messages, tools} records: scripted gold fixes and/or distilled runs."""
    from rich.console import Console
    from rich.markup import escape

    from agentforge.runtime.sandbox import SandboxError
    from agentforge.training.synth.swe.script import ScriptError
    from agentforge.training.synth.swe.trajectory_set import build_trajectory_set

    err = Console(stderr=True)
    _check_sandbox(err, sandbox)
    if instances is None and not from_run:
        err.print("[red]error:[/] give --instances (scripted trajectories) and/or --from-run RUN_DIR (distilled)")
        raise typer.Exit(2)
    try:
        summary = asyncio.run(build_trajectory_set(out, instances=instances, repos=repos, runs=from_run or [],
                                                   sandbox=sandbox, concurrency=concurrency, limit=limit,
                                                   max_tokens=max_tokens, console=err, progress=progress))
    except (FileNotFoundError, ValueError, ScriptError, SandboxError) as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted; run the same command again to resume")
        raise typer.Exit(130) from None
    err.print(f"{summary['records']} records in {escape(str(summary['path']))}; tokens per record: "
              f"{summary['tokens']}")
    typer.echo(json.dumps(summary))
    if not summary["records"]:
        raise typer.Exit(1)


def _check_sandbox(err, sandbox: str) -> None:
    from agentforge.runtime.sandbox import KINDS

    if sandbox not in KINDS:
        err.print(f"[red]error:[/] --sandbox must be one of {', '.join(KINDS)}, not {sandbox!r}")
        raise typer.Exit(2)
