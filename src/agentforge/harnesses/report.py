"""The shared test-time-scaling report: pass@k, selected@k per selector, a
table, summary.json and a PNG plot. Every harness feeds it one `TaskOutcome`
(N scored candidates) per task.

Metrics (all fractions in [0, 1]; the table and plot show percent):

- pass@k: the unbiased estimator of Chen et al. 2021 (Codex, arXiv 2107.03374)
  from n samples of which c are correct: 1 - C(n-c, k) / C(n, k), averaged
  over tasks. pass@1 = c/n, the expected single-sample accuracy; pass@N is
  "some candidate is right" (the oracle's score).
- selected@k for a selector: the probability that the candidate it picks
  from k of the N candidates is correct, estimated per task over "draws", each
  an ordered k-subset of the candidates:
    * when C(N, k) * k <= `draws` (default 32): every k-subset, each in all k
      rotations - exact, and every candidate leads equally often, so `first`
      equals pass@1 exactly and ties are broken without favouring a position;
    * otherwise `draws` ordered subsets sampled uniformly without replacement,
      seeded by (seed, task_id, k), so a task's draws do not depend on which
      other tasks are in the run.
  The same draws serve every selector (paired comparison).
  k runs over 1, 2, 4, ... up to N, plus N itself when it is not a power of two.

Tasks with fewer candidates than N (a sample errored or was never produced)
are padded with failed candidates: no answer, no signal, wrong. A missing
sample is a failed sample, so the scores are not inflated by dropping it.
Candidates with `correct=None` (unscored) count as wrong; both cases are
counted in the summary. A task with more than N candidates keeps its first N.

summary.json:
    {"title", "n", "ks", "selectors", "draws", "seed", "tasks",
     "padded_tasks", "unscored_candidates",
     "categories": {category: ROW}, "aggregate": {row name: ROW},
     "plot": "report.png" or null, "plot_note": why there is no plot (absent if there is one)}
    ROW = {"tasks": int or null, "pass@1": x, "pass@N": x,
           "pass@k": {"1": x, "2": x, ...}, "selected@k": {selector: {"1": x, ...}}}
The default aggregate is one row, "overall": the micro average over all tasks.
A harness can pass its own `aggregate` (per-category value -> summary rows),
e.g. BFCL's overall formula; it is applied to every metric separately. The
accuracy-vs-k table and the plot show the aggregate row named "overall" (the
first row if none is).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from io import StringIO
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.registry import SELECTORS, Selector

Aggregate = Callable[[dict[str, float]], dict[str, float]]
DEFAULT_DRAWS = 32
PLOT_FILE = "report.png"


@dataclass
class TaskOutcome:
    task_id: str
    category: str
    candidates: list[Candidate]


def ks_for(n: int) -> list[int]:
    """1, 2, 4, ... <= n, plus n itself when it is not a power of two."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks if ks[-1] == n else ks + [n]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def subset_draws(n: int, k: int, draws: int, rng: random.Random) -> list[tuple[int, ...]]:
    """The ordered k-subsets of range(n) a task is judged on (see module doc)."""
    if math.comb(n, k) * k <= draws:
        return [s[r:] + s[:r] for s in combinations(range(n), k) for r in range(k)]
    return [tuple(rng.sample(range(n), k)) for _ in range(draws)]


def _padded(candidates: Sequence[Candidate], n: int) -> list[Candidate]:
    missing = max(0, n - len(candidates))
    return list(candidates[:n]) + [Candidate(answer="", token_logprobs=[], token_confidences=[], correct=False) for _ in range(missing)]


def _resolve(selectors: Sequence[str] | Mapping[str, Selector] | None) -> dict[str, Selector]:
    if selectors is None:
        return dict(SELECTORS)
    if isinstance(selectors, Mapping):
        return dict(selectors)
    unknown = [s for s in selectors if s not in SELECTORS]
    if unknown:
        raise ValueError(f"unknown selectors {unknown}; known: {', '.join(SELECTORS)}")
    return {s: SELECTORS[s] for s in selectors}


def task_metrics(outcome: TaskOutcome, n: int, ks: Sequence[int], selectors: Mapping[str, Selector],
                 draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, Any]:
    """One task's pass@k and selected@k (a fraction of its draws) for every k."""
    cands = _padded(outcome.candidates, n)
    right = [c.correct is True for c in cands]
    out: dict[str, Any] = {"pass@k": {}, "selected@k": {name: {} for name in selectors}}
    for k in ks:
        out["pass@k"][str(k)] = pass_at_k(n, sum(right), k)
        subsets = subset_draws(n, k, draws, random.Random(f"{seed}:{outcome.task_id}:{k}"))
        hits = dict.fromkeys(selectors, 0)
        for s in subsets:
            sub = [cands[i] for i in s]
            for name, select in selectors.items():
                hits[name] += right[s[select(sub)]]
        for name in selectors:
            out["selected@k"][name][str(k)] = hits[name] / len(subsets)
    return out


def _mean_rows(rows: Sequence[dict[str, Any]], ks: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    def mean(xs: list[float]) -> float:
        return math.fsum(xs) / len(xs) if xs else 0.0  # fsum: exact, so task order cannot change a digit

    return {
        "tasks": len(rows),
        "pass@k": {str(k): mean([r["pass@k"][str(k)] for r in rows]) for k in ks},
        "selected@k": {s: {str(k): mean([r["selected@k"][s][str(k)] for r in rows]) for k in ks} for s in names},
    }


def _with_headline(row: dict[str, Any], n: int) -> dict[str, Any]:
    return {"tasks": row.get("tasks"), "pass@1": row["pass@k"]["1"], "pass@N": row["pass@k"][str(n)],
            "pass@k": row["pass@k"], "selected@k": row["selected@k"]}


def _apply_aggregate(categories: dict[str, dict[str, Any]], aggregate: Aggregate, ks: Sequence[int],
                     names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Run `aggregate` on every metric's per-category values and regroup by row."""
    rows: dict[str, dict[str, Any]] = {}
    metrics = [(None, str(k)) for k in ks] + [(s, str(k)) for s in names for k in ks]  # None = pass@k
    for sel, k in metrics:
        values = {c: (r["pass@k"] if sel is None else r["selected@k"][sel])[k] for c, r in categories.items()}
        for row_name, value in aggregate(values).items():
            row = rows.setdefault(row_name, {"tasks": None, "pass@k": {}, "selected@k": {s: {} for s in names}})
            (row["pass@k"] if sel is None else row["selected@k"][sel])[k] = value
    return rows


def summarize(outcomes: Sequence[TaskOutcome], selectors: Sequence[str] | Mapping[str, Selector] | None = None,
              aggregate: Aggregate | None = None, title: str = "", n: int | None = None,
              draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, Any]:
    """The summary dict (see module doc) without writing anything."""
    chosen = _resolve(selectors)
    names = list(chosen)
    n = n or max((len(o.candidates) for o in outcomes), default=0)
    if n < 1:
        raise ValueError("no candidates in any task: nothing to report")
    ks = ks_for(n)
    per_task = [task_metrics(o, n, ks, chosen, draws, seed) for o in outcomes]
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for o, m in zip(outcomes, per_task):
        by_cat.setdefault(o.category, []).append(m)
    categories = {c: _mean_rows(rows, ks, names) for c, rows in sorted(by_cat.items())}
    if aggregate is None:
        agg = {"overall": _mean_rows(per_task, ks, names)}
    else:
        agg = _apply_aggregate(categories, aggregate, ks, names)
    return {
        "title": title,
        "n": n,
        "ks": ks,
        "selectors": names,
        "draws": draws,
        "seed": seed,
        "tasks": len(outcomes),
        "padded_tasks": sum(len(o.candidates) < n for o in outcomes),
        "unscored_candidates": sum(c.correct is None for o in outcomes for c in o.candidates[:n]),
        "categories": {c: _with_headline(r, n) for c, r in categories.items()},
        "aggregate": {name: _with_headline(r, n) for name, r in agg.items()},
    }


# ---------------------------------------------------------------- rendering

def main_row(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The aggregate row the vs-k table and the plot show: "overall" if there is one, else the first."""
    agg = summary["aggregate"]
    name = "overall" if "overall" in agg else next(iter(agg))
    return name, agg[name]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _header(name: str) -> str:
    return name.replace("_", " ")  # lets a long selector name wrap between words


def _col_width(header: str) -> int:
    return max(5, *(len(w) for w in header.split()))  # 5 = "100.0"


def tables(summary: dict[str, Any], width: int = 160) -> list[Table]:
    """Categories x metrics at k = N (split into several tables when the
    selectors do not fit in `width` columns), then accuracy vs k for the main
    aggregate row."""
    n, names, ks = summary["n"], summary["selectors"], summary["ks"]
    rows = list(summary["categories"].items()) + list(summary["aggregate"].items())
    label_w = max([8, *(len(r) for r, _ in rows)])
    fixed = label_w + 2 + sum(_col_width(h) + 3 for h in ["tasks", "pass@1", f"pass@{n}"])  # + padding and gaps
    chunks: list[list[str]] = [[]]
    used = fixed
    for s in names:  # greedy: as many selector columns as fit per table
        w = _col_width(_header(s)) + 3
        if chunks[-1] and used + w > width:
            chunks.append([])
            used = fixed
        chunks[-1].append(s)
        used += w

    out = []
    title = f"{summary.get('title') or 'report'}: accuracy % (N = {n}; a selector picks 1 of the N)"
    for part, chunk in enumerate(chunks, 1):
        t = Table(title=title + (f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""),
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
        t.add_column("category", no_wrap=True, min_width=label_w)
        for h in ["tasks", "pass@1", *map(_header, chunk), f"pass@{n}"]:
            t.add_column(h, justify="right", min_width=_col_width(h))
        n_cats = len(summary["categories"])
        for i, (label, row) in enumerate(rows):
            cells = [label, "-" if row.get("tasks") is None else str(row["tasks"]), _pct(row["pass@1"])]
            cells += [_pct(row["selected@k"][s].get(str(n))) for s in chunk] + [_pct(row["pass@N"])]
            t.add_row(*cells, style="bold" if i >= n_cats else None, end_section=i == n_cats - 1)
        out.append(t)

    if summary["aggregate"]:
        name, row = main_row(summary)
        vs_k = Table(title=f"{name}: accuracy % vs k (selected from k of the {n} candidates)", box=box.SIMPLE_HEAD)
        vs_k.add_column("metric")
        for k in ks:
            vs_k.add_column(f"k={k}", justify="right")
        vs_k.add_row("pass@k", *[_pct(row["pass@k"][str(k)]) for k in ks], style="bold")
        for s in names:
            vs_k.add_row(s, *[_pct(row["selected@k"][s].get(str(k))) for k in ks])
        out.append(vs_k)
    return out


def _notes(summary: dict[str, Any]) -> list[str]:
    notes = []
    if summary.get("padded_tasks"):
        notes.append(f"{summary['padded_tasks']} task(s) had fewer than {summary['n']} candidates; missing ones count as wrong.")
    if summary.get("unscored_candidates"):
        notes.append(f"{summary['unscored_candidates']} candidate(s) were unscored (correct=None) and count as wrong.")
    if summary.get("plot_note"):
        notes.append(summary["plot_note"])
    return notes


def print_report(summary: dict[str, Any], console: Console | None = None) -> None:
    """The tables (and any caveats) on a rich console."""
    console = console or Console()
    for t in tables(summary, width=console.width):
        console.print(t)
    for note in _notes(summary):
        console.print(f"[yellow]note:[/yellow] {escape(note)}")  # a note may hold `[bench]`


def report_text(summary: dict[str, Any], width: int = 160) -> str:
    buf = StringIO()
    print_report(summary, Console(file=buf, width=width, color_system=None, force_terminal=False))
    return buf.getvalue()


def plot_report(summary: dict[str, Any], path: Path) -> str | None:
    """Accuracy vs N (log2 axis) per selector, with pass@k and pass@1, for the
    main aggregate row. Returns None when written, else why not (no matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: matplotlib is not installed (pip install 'agentforge[bench]')"
    name, row = main_row(summary)
    ks = summary["ks"]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for s in summary["selectors"]:
        if s == "oracle":  # equals pass@k up to sampling noise; drawn as pass@k
            continue
        ax.plot(ks, [100 * row["selected@k"][s][str(k)] for k in ks], marker="o", label=s)
    ax.plot(ks, [100 * row["pass@k"][str(k)] for k in ks], "k--", marker="s", label="pass@k (oracle)")
    ax.axhline(100 * row["pass@1"], color="gray", linestyle=":", label="pass@1")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("N (candidates sampled)")
    ax.set_ylabel("accuracy %")
    ax.set_title(f"{summary.get('title') or 'report'} - {name}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: lines stay visible
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def write_report(outcomes: Sequence[TaskOutcome], run_dir: str | Path,
                 selectors: Sequence[str] | Mapping[str, Selector] | None = None,
                 aggregate: Aggregate | None = None, title: str = "", n: int | None = None,
                 draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, Any]:
    """Write summary.json, report.txt and report.png into run_dir; return the summary."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(outcomes, selectors, aggregate, title, n, draws, seed)
    why_not = plot_report(summary, run_dir / PLOT_FILE)
    summary["plot"] = None if why_not else PLOT_FILE
    if why_not:
        summary["plot_note"] = why_not
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (run_dir / "report.txt").write_text(report_text(summary))
    return summary
