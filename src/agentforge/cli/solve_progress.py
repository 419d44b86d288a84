"""What `agent solve` shows while it works, on any output.

`solve()` reports each candidate's status, steps, tokens and last command
through `update(index, ...)`. On a terminal, `LiveProgress` keeps one live row
per candidate; anywhere else (a pipe, a log file, CI) rich cannot redraw, so
`LineProgress` prints one line per step and per status change: a long run is
never silent.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentforge.cli.terminal import terminal_safe

COMMAND_CHARS = 100  # the start of the last command shown
_STYLE = {"submitted": "green", "tests pass": "bold green", "failed": "red", "model_error": "red",
          "tests fail": "yellow", "running": "cyan"}


def _command_line(command: str) -> str:
    """The first line of a model-written command, clipped, safe to print."""
    lines = (command or "").strip().splitlines()
    if not lines:
        return ""
    first, _ = terminal_safe(lines[0][:COMMAND_CHARS])
    return first + (" …" if len(lines) > 1 or len(lines[0]) > COMMAND_CHARS else "")


class Progress:
    """The rows every display shares; shows nothing itself (--quiet)."""

    def __init__(self, n: int):
        self.rows: list[dict[str, Any]] = [{"status": "waiting", "steps": 0, "tokens": 0, "last": ""}
                                           for _ in range(n)]

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, index: int, **changes: Any) -> None:
        self.rows[index].update(changes)


class LineProgress(Progress):
    """A line per step and per status change, for output that is not a terminal."""

    def __init__(self, console: Console, n: int):
        super().__init__(n)
        self.console = console

    def update(self, index: int, **changes: Any) -> None:
        before = dict(self.rows[index])
        super().update(index, **changes)
        row = self.rows[index]
        if row["steps"] != before["steps"]:
            self._say(f"#{index} step {row['steps']} · {row['tokens']} tokens · {_command_line(row['last'])}")
        if row["status"] != before["status"]:
            detail = f" · {row['steps']} steps · {row['tokens']} tokens" if row["steps"] else ""
            self._say(f"#{index} {row['status']}{detail}")

    def _say(self, line: str) -> None:
        self.console.print(f"solve: {line}", markup=False, highlight=False, soft_wrap=True)


class LiveProgress(Progress):
    """One live row per candidate, redrawn in place on a terminal."""

    def __init__(self, console: Console, n: int):
        super().__init__(n)
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> "LiveProgress":
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.update(self._table())
        self.live.__exit__(*exc)

    def update(self, index: int, **changes: Any) -> None:
        super().update(index, **changes)
        self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
        for name, kw in (("#", {"justify": "right"}), ("status", {}), ("steps", {"justify": "right"}),
                         ("tokens", {"justify": "right"}),
                         ("last command", {"overflow": "ellipsis", "no_wrap": True})):
            table.add_column(name, **kw)
        for i, row in enumerate(self.rows):
            status = row["status"]
            table.add_row(str(i), Text(status, style=_STYLE.get(status, "yellow")), str(row["steps"]),
                          str(row["tokens"]), Text(_command_line(row["last"]), style="dim"))
        return table


def make_progress(console: Console, n: int, quiet: bool = False) -> Progress:
    """The display that works on this console: live rows on a terminal, lines elsewhere."""
    if quiet:
        return Progress(n)
    return LiveProgress(console, n) if console.is_terminal else LineProgress(console, n)
