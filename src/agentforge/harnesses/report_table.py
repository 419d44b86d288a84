"""The report's tables, fitted to the console: a column is dropped, never split
across tables and never cropped.

Every column is exactly as wide as its widest value (a header wraps between its
words, "avg logprob" over two lines), so what is shown is shown whole. When the
table is wider than the console, columns go in a fixed order - the ones that
repeat another column first - and a note names them; `wide` keeps them all
(the terminal then wraps the lines instead).

Drop order of the categories x metrics table: `oracle` (at k = N it equals
pass@N), `first` (at k = N it is pass@1 up to draw noise), then the other
selectors from the last one back, then `tasks`. Every selector stays in the
accuracy-vs-k table, whose rows are selectors; when even that is too wide, the
middle values of k go (k = 1 and k = N stay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import StringIO
from typing import Any, Container, Sequence

from rich import box
from rich.console import Console
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from agentforge.harnesses.metrics import main_row

UNLIMITED = 10_000  # a console width no table reaches: its natural width


@dataclass
class Column:
    key: str  # what the drop order and the note name
    header: str
    cells: list[str]
    label: bool = False  # the row-label column: left-aligned, never dropped

    @property
    def width(self) -> int:
        words = self.header.split() or [""]
        return max(*(len(w) for w in words), *(len(c) for c in self.cells))


@dataclass
class FittedTable:
    title: str
    table: Table
    width: int  # characters the table takes
    shown: list[str]
    dropped: list[str] = field(default_factory=list)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _header(name: str) -> str:
    return name.replace("_", " ")  # lets a long selector name wrap between words


def _build(columns: Sequence[Column], bold: Container[int], section_after: int | None) -> Table:
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, expand=False)
    for c in columns:
        t.add_column(c.header, justify="left" if c.label else "right", width=c.width, no_wrap=c.label)
    for i in range(len(columns[0].cells)):
        t.add_row(*(c.cells[i] for c in columns), style="bold" if i in bold else None, end_section=i == section_after)
    return t


def table_width(table: Table) -> int:
    buf = StringIO()
    Console(file=buf, width=UNLIMITED, color_system=None).print(table)
    return max(len(line) for line in buf.getvalue().splitlines())


def fit(title: str, columns: list[Column], drop_order: Sequence[str], width: int | None,
        bold: Container[int] = (), section_after: int | None = None) -> FittedTable:
    """The table with as many columns as fit in `width` (None: all of them)."""
    keep = list(columns)
    dropped: list[str] = []
    order = [k for k in drop_order if any(c.key == k and not c.label for c in columns)]
    while True:
        table = _build(keep, bold, section_after)
        used = table_width(table)
        if width is None or used <= width or not order:
            return FittedTable(title, table, used, [c.key for c in keep], dropped)
        gone = order.pop(0)
        keep = [c for c in keep if c.key != gone]
        dropped.append(gone)


def category_table(summary: dict[str, Any], width: int | None) -> FittedTable:
    """Categories (then aggregate rows, bold) x tasks, pass@1, selected@N per selector, pass@N."""
    n, names = summary["n"], summary["selectors"]
    rows = list(summary["categories"].items()) + list(summary["aggregate"].items())
    columns = [
        Column("category", "category", [label for label, _ in rows], label=True),
        Column("tasks", "tasks", ["-" if r.get("tasks") is None else str(r["tasks"]) for _, r in rows]),
        Column("pass@1", "pass@1", [pct(r["pass@1"]) for _, r in rows]),
        *(Column(s, _header(s), [pct(r["selected@k"][s].get(str(n))) for _, r in rows]) for s in names),
        Column(f"pass@{n}", f"pass@{n}", [pct(r["pass@N"]) for _, r in rows]),
    ]
    rest = [s for s in reversed(names) if s not in ("oracle", "first")]
    drop_order = ["oracle", "first", *rest, "tasks"]
    title = f"{summary.get('title') or 'report'}: accuracy % (N = {n}; a selector picks 1 of the N)"
    n_cats = len(summary["categories"])
    return fit(title, columns, drop_order, width, bold=range(n_cats, len(rows)), section_after=n_cats - 1)


def vs_k_table(summary: dict[str, Any], width: int | None) -> FittedTable:
    """The main aggregate row: pass@k (and pass^k), then every selector, against k."""
    name, row = main_row(summary)
    n, ks = summary["n"], summary["ks"]
    labels = ["pass@k", *(["pass^k"] if "pass^k" in row else []), *summary["selectors"]]

    def value(label: str, k: int) -> str:
        if label in ("pass@k", "pass^k"):
            return pct(row[label][str(k)])
        return pct(row["selected@k"][label].get(str(k)))

    columns = [Column("metric", "metric", labels, label=True)]
    columns += [Column(f"k={k}", f"k={k}", [value(label, k) for label in labels]) for k in ks]
    middle = [f"k={k}" for k in ks[1:-1]]
    drop_order = middle[len(middle) // 2:] + middle[: len(middle) // 2][::-1]  # from the middle outwards-ish
    title = f"{name}: accuracy % vs k (selected from k of the {n} candidates)"
    return fit(title, columns, drop_order, width, bold=(0,))


def fitted_tables(summary: dict[str, Any], width: int | None) -> list[FittedTable]:
    out = [category_table(summary, width)]
    if summary["aggregate"]:
        out.append(vs_k_table(summary, width))
    return out


def dropped_note(fitted: FittedTable) -> str | None:
    """Which columns a table left out, and where to see them."""
    if not fitted.dropped:
        return None
    is_vs_k = fitted.shown[0] == "metric"
    where = "" if is_vs_k else "; the accuracy-vs-k table has every selector"
    table = "accuracy vs k" if is_vs_k else "categories"
    return f"{table} table: left out to fit the terminal: {', '.join(fitted.dropped)} (--wide shows all{where})."


def print_tables(summary: dict[str, Any], console: Console, wide: bool = False) -> list[str]:
    """Print the fitted tables; returns the notes on what was left out."""
    notes = []
    for fitted in fitted_tables(summary, None if wide else console.width):
        console.print(Text(fitted.title, style="bold"))
        if fitted.width <= console.width:
            console.print(fitted.table)
        else:  # --wide: render at the table's own width and let the terminal wrap the lines
            options = console.options.update(width=fitted.width, max_width=fitted.width)
            console.print(Segments(console.render(fitted.table, options)), soft_wrap=True, crop=False)
        note = dropped_note(fitted)
        if note:
            notes.append(note)
    return notes
