"""What a harness's `agent bench NAME` options hand to the shared command.

Each harness folder has an `options` module: one function whose parameters are
the command's options (typer annotations, so `agent bench NAME --help` lists
them) and which returns a `BenchRequest`. The CLI adds `--wide`, loads the
model, runs `harnesses.run.run_harness` and prints the report, the same for
every harness. The module stays light (typer only; the harness is imported in
the function) because the CLI imports it to build its help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BenchRequest:
    config: Any  # the harness's RunConfig subclass, filled from the options
    run_dir: Path
    backend_options: dict[str, Any] = field(default_factory=dict)  # extra make_backend keywords (max_slots)
