"""`agent bench ...`: benchmark runs with resume and reports. One command per
registered harness (`harnesses.registry`), built from the harness's options
function; the run, the report and the closing lines are the same for all."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agentforge.cli.common import CliError, consoles, fail, load_backend
from agentforge.harnesses.registry import HARNESSES

bench_app = typer.Typer(help="Benchmark harnesses: resumable runs, pass@k / selected@N reports.",
                        no_args_is_help=True)

WIDE_HELP = "Print every report column, even if the lines get wider than the terminal."


def _run_and_report(go, out, err, where: str, expected: tuple[type[BaseException], ...], wide: bool = False):
    """Run a harness coroutine (`go()` -> (stats, summary)), print its report and a closing line; return both.

    `expected` failures end in a red message; Ctrl-C says how to resume.
    """
    from agentforge.harnesses.report import print_report

    try:
        stats, summary = asyncio.run(go())
    except expected as e:
        fail(err, str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))  # str(KeyError) adds quotes
    except KeyboardInterrupt:
        err.print("[yellow]interrupted; finished candidates are saved: run the same command to resume[/]")
        raise typer.Exit(130) from None
    print_report(summary, out, wide=wide)
    _print_run_end(err, stats, where)
    return stats, summary


def _print_run_end(err, stats, where: str) -> None:
    err.print(Text.assemble(
        f"{stats.done} candidates run, {stats.skipped} resumed from the journal",
        (f", {stats.errors} errors" if stats.errors else "", "red"),
        f" · {stats.seconds:.0f} s · {where}"), soft_wrap=True)
    for message in stats.error_messages[:5]:
        err.print(Text(f"  error: {message}", style="red"), soft_wrap=True)


def harness_command(name: str):
    """`agent bench NAME`: the harness's own options (its `options` function) plus --wide, then the shared run."""
    from agentforge.harnesses.registry import get_options

    options = get_options(name)
    signature = inspect.signature(options, eval_str=True)

    def command(**kwargs) -> None:
        wide = kwargs.pop("wide")
        out, err = consoles()
        try:
            request = options(**kwargs)
        except ValueError as e:
            fail(err, str(e))
        _run_harness(name, request, out, err, wide)

    command.__signature__ = signature.replace(parameters=[*signature.parameters.values(), _WIDE],
                                              return_annotation=None)
    command.__doc__ = options.__doc__
    command.__name__ = name
    return command


_WIDE = inspect.Parameter("wide", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=Annotated[bool, typer.Option(help=WIDE_HELP)])


def _run_harness(name: str, request, out, err, wide: bool) -> None:
    from agentforge.harnesses.registry import get_harness
    from agentforge.harnesses.rundir import RunDirMismatch
    from agentforge.harnesses.run import run_harness

    harness = get_harness(name)

    async def open_backend(model: str):
        return await load_backend(model, err, **request.backend_options)

    async def go():
        return await run_harness(harness, request.config, request.run_dir, console=err, open_backend=open_backend)

    _, summary = _run_and_report(go, out, err, harness.where(request.run_dir),
                                 expected=(CliError, RunDirMismatch, ValueError, KeyError, FileNotFoundError),
                                 wide=wide)
    problem = harness.unusable(summary)
    if problem:
        err.print(Text(problem, style="red"), soft_wrap=True)
        raise typer.Exit(1)


for _name in HARNESSES:
    bench_app.command(_name)(harness_command(_name))


@bench_app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory with config.json and journal.jsonl.")],
           wide: Annotated[bool, typer.Option(help=WIDE_HELP)] = False) -> None:
    """Rebuild and print the report of a (possibly unfinished) run of any harness."""
    from agentforge.harnesses.report import print_report
    from agentforge.harnesses.rundir import RunDirError
    from agentforge.harnesses.run import rescore

    out, err = consoles()
    try:
        summary = rescore(run_dir)
    except RunDirError as e:
        fail(err, str(e))
    print_report(summary, out, wide=wide)
