"""`agent ...`: the command line, one module per command group.

Thin by design: each command parses its options, then calls the packages
below it (runtime, serving, harnesses, routing, training). What the commands
share (consoles, failing with a red message, loading a backend with a
spinner) is in `agentforge.cli.common`. Heavy modules (openai, aiohttp,
torch) are imported only by the command that needs them, so `agent --help`
stays fast.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from agentforge.cli.bench import bench_app
from agentforge.cli.chat import chat
from agentforge.cli.models import models
from agentforge.cli.route import route_app
from agentforge.cli.sandbox import sandbox_app
from agentforge.cli.serve import serve
from agentforge.cli.solve import solve_command
from agentforge.cli.train import train_app

app = typer.Typer(
    name="agent",
    help="AgentForge: an agent runtime with an OpenAI-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version() -> str:
    try:
        return importlib.metadata.version("agentforge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logger = logging.getLogger("agentforge")
    logger.setLevel(level)
    if not any(getattr(h, "_agentforge_cli", False) for h in logger.handlers):
        handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=True)
        handler._agentforge_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"agentforge {_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging: -v info, -vv debug.")] = 0,
) -> None:
    """AgentForge: an agent runtime with an OpenAI-compatible server."""
    _setup_logging(verbose)


app.command()(chat)
app.command()(serve)
app.command()(models)
app.command("solve")(solve_command)
app.add_typer(bench_app, name="bench")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(route_app, name="route")
app.add_typer(train_app, name="train")
