"""The shared test-time-scaling report: summary.json, report.txt and report.png
in a run directory, and the same tables on a console.

The numbers come from `metrics` (pass@k, pass^k, selected@k; its doc gives the
definitions and the summary.json layout), the tables from `report_table`
(fitted to the console width), the plot from `report_plot`.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any, Mapping, Sequence

from rich.console import Console
from rich.markup import escape

from agentforge.harnesses.metrics import DEFAULT_DRAWS, Aggregate, TaskOutcome, summarize
from agentforge.harnesses.report_plot import plot_report
from agentforge.harnesses.report_table import print_tables
from agentforge.selectors.registry import Selector

PLOT_FILE = "report.png"
FILE_WIDTH = 160  # report.txt is read in an editor or a wide terminal


def _notes(summary: dict[str, Any]) -> list[str]:
    notes = []
    if summary.get("padded_tasks"):
        notes.append(f"{summary['padded_tasks']} task(s) had fewer than {summary['n']} candidates; "
                     "missing ones count as wrong.")
    if summary.get("unscored_candidates"):
        notes.append(f"{summary['unscored_candidates']} candidate(s) were unscored (correct=None) and count as wrong.")
    if summary.get("plot_note"):
        notes.append(summary["plot_note"])
    return notes


def print_report(summary: dict[str, Any], console: Console | None = None, wide: bool = False) -> None:
    """The tables (and any caveats) on a rich console, fitted to its width unless `wide`."""
    console = console or Console()
    left_out = print_tables(summary, console, wide=wide)
    for note in left_out + _notes(summary):
        console.print(f"[yellow]note:[/yellow] {escape(note)}")  # a note may hold `[bench]`


def report_text(summary: dict[str, Any], width: int = FILE_WIDTH, wide: bool = True) -> str:
    buf = StringIO()
    print_report(summary, Console(file=buf, width=width, color_system=None, force_terminal=False), wide=wide)
    return buf.getvalue()


def write_report(outcomes: Sequence[TaskOutcome], run_dir: str | Path,
                 selectors: Sequence[str] | Mapping[str, Selector] | None = None,
                 aggregate: Aggregate | None = None, title: str = "", n: int | None = None,
                 draws: int = DEFAULT_DRAWS, seed: int = 0, pass_hat: bool = False,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write summary.json (with `extra` keys last), report.txt and report.png into run_dir; return the summary."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(outcomes, selectors, aggregate, title, n, draws, seed, pass_hat)
    why_not = plot_report(summary, run_dir / PLOT_FILE)
    summary["plot"] = None if why_not else PLOT_FILE
    if why_not:
        summary["plot_note"] = why_not
    summary.update(extra or {})
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_dir / "report.txt").write_text(report_text(summary))
    return summary
