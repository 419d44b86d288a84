"""`agent bench toy`'s options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentforge.harnesses.command import BenchRequest


def options(
    tasks: Annotated[int, typer.Option(help="How many toy tasks.")] = 8,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Candidates per task.")] = 1,
    run_dir: Annotated[Path, typer.Option(help="Where the run lives.")] = Path("runs/toy"),
) -> BenchRequest:
    """Run the toy benchmark."""
    from tests.harnesses.toy.bench import ToyConfig

    return BenchRequest(ToyConfig(model="none", tasks=tasks, n=n), run_dir)
