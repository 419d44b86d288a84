"""The report tables fit the console: at 80, 120 and 200 columns no line is
wider than the console, every table is printed once (never split into chunks),
every value and header shown is whole, and what is left out is named; `wide`
keeps every column."""

import json
import random
from io import StringIO
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from agentforge.harnesses.metrics import TaskOutcome, main_row, summarize
from agentforge.harnesses.report import print_report
from agentforge.harnesses.report_table import fitted_tables, pct
from agentforge.selectors import SELECTORS, Candidate

BFCL_SUMMARY = Path(__file__).parent / "fixtures" / "rescore" / "bfcl" / "by_old_code" / "summary.json"


def bfcl_summary() -> dict:
    """A real BFCL summary: 5 categories, a "mean of categories run" row, 10 selectors, N = 4."""
    return json.loads(BFCL_SUMMARY.read_text())


def many_k_summary() -> dict:
    """N = 16 (k = 1..16), every selector, pass^k, long category names: the widest tables."""
    rng = random.Random(1)
    outs = [TaskOutcome(f"t{t}", f"live_parallel_multiple_{t % 4}",
                        [Candidate(a := rng.choice(["a", "b"]), [-rng.random()], [rng.random() * 3], correct=a == "a")
                         for _ in range(16)]) for t in range(12)]
    return summarize(outs, selectors=list(SELECTORS), pass_hat=True, title="synthetic · a long model name · N=16")


def printed(summary: dict, width: int, wide: bool = False) -> str:
    buf = StringIO()
    print_report(summary, Console(file=buf, width=width, color_system=None, force_terminal=False), wide=wide)
    return buf.getvalue()


def row_cells(out: str, label: str) -> list[str]:
    """The cells printed after a row label (a label may hold spaces)."""
    rows = [ln.strip()[len(label):].split() for ln in out.splitlines() if ln.strip().startswith(label + " ")]
    [cells] = [r for r in rows if all(c == "-" or c.replace(".", "").isdigit() for c in r)]  # not a note line
    return cells


def expected_category_cells(summary: dict, label: str, shown: list[str]) -> list[str]:
    row = {**summary["categories"], **summary["aggregate"]}[label]
    n = summary["n"]
    cells = []
    for key in shown[1:]:
        if key == "tasks":
            cells.append("-" if row["tasks"] is None else str(row["tasks"]))
        elif key == "pass@1":
            cells.append(pct(row["pass@1"]))
        elif key == f"pass@{n}":
            cells.append(pct(row["pass@N"]))
        else:
            cells.append(pct(row["selected@k"][key][str(n)]))
    return cells


SUMMARIES = {"bfcl": bfcl_summary, "n16": many_k_summary}


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("which", list(SUMMARIES))
def test_tables_fit_whole_and_unsplit(which, width):
    summary = SUMMARIES[which]()
    out = printed(summary, width)
    assert max(cell_len(line) for line in out.splitlines()) <= width
    assert "…" not in out  # rich's crop marker
    category, vs_k = fitted_tables(summary, width)
    # each table printed once: its header row appears once (a split table repeats it)
    assert sum(line.split()[:1] == ["category"] for line in out.splitlines()) == 1
    assert sum(line.split()[:1] == ["metric"] for line in out.splitlines()) == 1
    # every value of every category row and aggregate row is printed whole, in its column
    for label in [*summary["categories"], *summary["aggregate"]]:
        assert row_cells(out, label) == expected_category_cells(summary, label, category.shown)
    # the vs-k table: every selector and pass@k (and pass^k) has a row, with whole values
    _, main = main_row(summary)
    for label in ["pass@k", *(["pass^k"] if "pass^k" in main else []), *summary["selectors"]]:
        cells = row_cells(out, label)
        assert len(cells) == len(vs_k.shown) - 1 and all(c.replace(".", "").isdigit() for c in cells)
        assert all(len(c.split(".")[-1]) == 1 for c in cells)  # "25.0", not "25."
    # headers are whole: every word of every shown header is printed
    words = set(out.split())
    for key in category.shown + vs_k.shown:
        assert set(key.replace("_", " ").split()) <= words, key
    # whatever was left out is named in a note that points to --wide
    flat = " ".join(out.split())
    for fitted in (category, vs_k):
        for key in fitted.dropped:
            assert key in flat
        if fitted.dropped:
            assert "--wide shows all" in flat


def test_narrow_consoles_drop_columns_but_keep_the_headline_ones():
    summary = bfcl_summary()
    at_80, _ = fitted_tables(summary, 80)
    at_200, _ = fitted_tables(summary, 200)
    assert at_80.dropped and not at_200.dropped
    assert at_80.dropped[:2] == ["oracle", "first"]  # the columns that repeat others go first
    for key in ("category", "pass@1", "pass@4"):
        assert key in at_80.shown
    assert at_80.width <= 80


def test_the_vs_k_table_keeps_k_1_and_k_n_when_narrow():
    summary = many_k_summary()
    _, vs_k = fitted_tables(summary, 40)
    assert vs_k.shown[0] == "metric" and "k=1" in vs_k.shown and "k=16" in vs_k.shown
    assert vs_k.dropped  # k = 2 .. 8 did not all fit in 40 columns


@pytest.mark.parametrize("which", list(SUMMARIES))
def test_wide_keeps_every_column(which):
    summary = SUMMARIES[which]()
    out = printed(summary, 80, wide=True)
    assert "left out" not in out
    category, vs_k = fitted_tables(summary, None)
    assert not category.dropped and not vs_k.dropped
    assert len(category.shown) == 3 + len(summary["selectors"]) + 1  # label, tasks, pass@1, selectors, pass@N
    assert "…" not in out
    for label in summary["categories"]:  # the terminal wraps long lines; nothing is cut
        assert all(pct(summary["categories"][label]["selected@k"][s][str(summary["n"])]) in out
                   for s in summary["selectors"])
