"""The shared test-time-scaling metrics: pass@k, pass^k and selected@k per
selector, per task and summarized. Every harness feeds it one `TaskOutcome`
(N scored candidates) per task; `report` renders and writes the summary.

Metrics (all fractions in [0, 1]; the table and plot show percent):

- pass@k: the unbiased estimator of Chen et al. 2021 (Codex, arXiv 2107.03374)
  from n samples of which c are correct: 1 - C(n-c, k) / C(n, k), averaged
  over tasks. pass@1 = c/n, the expected single-sample accuracy; pass@N is
  "some candidate is right" (the oracle's score).
- pass^k (tau-bench, Yao et al. 2024, arXiv 2406.12045): the probability that
  all of k attempts succeed, a reliability measure; unbiased per task as
  C(c, k) / C(n, k), averaged over tasks. pass^1 = pass@1. Opt-in
  (`pass_hat=True`): a harness whose tasks are meant to be solved every time
  (tau-bench) asks for it.
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
           "pass@k": {"1": x, "2": x, ...}, "selected@k": {selector: {"1": x, ...}},
           "pass^k": {"1": x, ...} (only with pass_hat)}
The default aggregate is one row, "overall": the micro average over all tasks.
A harness can pass its own `aggregate` (per-category value -> summary rows),
e.g. BFCL's overall formula; it is applied to every metric separately. The
accuracy-vs-k table and the plot show the aggregate row named "overall" (the
first row if none is).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Callable, Mapping, Sequence

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.registry import SELECTORS, Selector

Aggregate = Callable[[dict[str, float]], dict[str, float]]
DEFAULT_DRAWS = 32


@dataclass
class TaskOutcome:
    task_id: str
    category: str
    candidates: list[Candidate]


def ks_for(n: int) -> list[int]:
    """1, 2, 4, ... <= n, plus n itself when it is not a power of two."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks if ks[-1] == n else ks + [n]


def _check(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    _check(n, c, k)
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k (all k attempts succeed) from n samples with c correct: C(c, k) / C(n, k)."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)  # math.comb(c, k) is 0 when k > c


def subset_draws(n: int, k: int, draws: int, rng: random.Random) -> list[tuple[int, ...]]:
    """The ordered k-subsets of range(n) a task is judged on (see module doc)."""
    if math.comb(n, k) * k <= draws:
        return [s[r:] + s[:r] for s in combinations(range(n), k) for r in range(k)]
    return [tuple(rng.sample(range(n), k)) for _ in range(draws)]


def _padded(candidates: Sequence[Candidate], n: int) -> list[Candidate]:
    missing = max(0, n - len(candidates))
    return list(candidates[:n]) + [Candidate(answer="", token_logprobs=[], token_confidences=[], correct=False)
                                   for _ in range(missing)]


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
                 draws: int = DEFAULT_DRAWS, seed: int = 0, pass_hat: bool = False) -> dict[str, Any]:
    """One task's pass@k (and pass^k) and selected@k (a fraction of its draws) for every k."""
    cands = _padded(outcome.candidates, n)
    right = [c.correct is True for c in cands]
    out: dict[str, Any] = {"pass@k": {}, "selected@k": {name: {} for name in selectors}}
    if pass_hat:
        out["pass^k"] = {str(k): pass_hat_k(n, sum(right), k) for k in ks}
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


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0  # fsum: exact, so task order cannot change a digit


def _mean_rows(rows: Sequence[dict[str, Any]], ks: Sequence[int], names: Sequence[str],
               pass_hat: bool) -> dict[str, Any]:
    out = {
        "tasks": len(rows),
        "pass@k": {str(k): _mean([r["pass@k"][str(k)] for r in rows]) for k in ks},
        "selected@k": {s: {str(k): _mean([r["selected@k"][s][str(k)] for r in rows]) for k in ks} for s in names},
    }
    if pass_hat:
        out["pass^k"] = {str(k): _mean([r["pass^k"][str(k)] for r in rows]) for k in ks}
    return out


def _with_headline(row: dict[str, Any], n: int) -> dict[str, Any]:
    out = {"tasks": row.get("tasks"), "pass@1": row["pass@k"]["1"], "pass@N": row["pass@k"][str(n)],
           "pass@k": row["pass@k"], "selected@k": row["selected@k"]}
    if "pass^k" in row:
        out["pass^k"] = row["pass^k"]
    return out


def _apply_aggregate(categories: dict[str, dict[str, Any]], aggregate: Aggregate, ks: Sequence[int],
                     names: Sequence[str], pass_hat: bool) -> dict[str, dict[str, Any]]:
    """Run `aggregate` on every metric's per-category values and regroup by row."""
    rows: dict[str, dict[str, Any]] = {}
    families = ["pass@k"] + (["pass^k"] if pass_hat else [])
    metrics = [(f, None, str(k)) for f in families for k in ks] + [("selected@k", s, str(k)) for s in names for k in ks]

    def slot(row: dict[str, Any], family: str, sel: str | None) -> dict[str, float]:
        return row[family] if sel is None else row[family][sel]

    for family, sel, k in metrics:
        values = {c: slot(r, family, sel)[k] for c, r in categories.items()}
        for row_name, value in aggregate(values).items():
            row = rows.setdefault(row_name, {"tasks": None, "pass@k": {}, "selected@k": {s: {} for s in names},
                                             **({"pass^k": {}} if pass_hat else {})})
            slot(row, family, sel)[k] = value
    return rows


def summarize(outcomes: Sequence[TaskOutcome], selectors: Sequence[str] | Mapping[str, Selector] | None = None,
              aggregate: Aggregate | None = None, title: str = "", n: int | None = None,
              draws: int = DEFAULT_DRAWS, seed: int = 0, pass_hat: bool = False) -> dict[str, Any]:
    """The summary dict (see module doc) without writing anything."""
    chosen = _resolve(selectors)
    names = list(chosen)
    n = n or max((len(o.candidates) for o in outcomes), default=0)
    if n < 1:
        raise ValueError("no candidates in any task: nothing to report")
    ks = ks_for(n)
    per_task = [task_metrics(o, n, ks, chosen, draws, seed, pass_hat) for o in outcomes]
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for o, m in zip(outcomes, per_task):
        by_cat.setdefault(o.category, []).append(m)
    categories = {c: _mean_rows(rows, ks, names, pass_hat) for c, rows in sorted(by_cat.items())}
    if aggregate is None:
        agg = {"overall": _mean_rows(per_task, ks, names, pass_hat)}
    else:
        agg = _apply_aggregate(categories, aggregate, ks, names, pass_hat)
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


def main_row(summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The aggregate row the vs-k table and the plot show: "overall" if there is one, else the first."""
    agg = summary["aggregate"]
    name = "overall" if "overall" in agg else next(iter(agg))
    return name, agg[name]
