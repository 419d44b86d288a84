"""Answer-level selectors: majority vote and DeepConf's confidence-weighted vote.

Both vote over `Candidate.answer`, the harness's canonical form of an answer
(e.g. tool calls with sorted keyword arguments), so equal answers written
differently still pool their votes. An empty answer ("" = the candidate gave
none) never wins unless every candidate is empty.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.confidence import mean_confidence

Score = Callable[[Candidate], float]


def _check(candidates: Sequence[Candidate]) -> None:
    if not candidates:
        raise ValueError("no candidates to select from")


def vote(candidates: Sequence[Candidate]) -> int:
    """Majority vote (self-consistency, Wang et al. 2022): the answer given most
    often wins; a tie goes to the answer that appears first. Returns the index
    of the first candidate giving the winning answer (0 if all are empty)."""
    _check(candidates)
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, c in enumerate(candidates):
        if c.answer:
            counts[c.answer] = counts.get(c.answer, 0) + 1
            first.setdefault(c.answer, i)
    if not counts:
        return 0
    # max() keeps the first maximum in insertion order = earliest-appearing answer.
    return first[max(counts, key=counts.__getitem__)]


def rank_by_votes(candidates: Sequence[Candidate]) -> list[int]:
    """Indices ordered by their answer's vote count (empty answers last), then index."""
    _check(candidates)
    counts: dict[str, int] = {}
    for c in candidates:
        if c.answer:
            counts[c.answer] = counts.get(c.answer, 0) + 1
    return sorted(range(len(candidates)), key=lambda i: (-counts.get(candidates[i].answer, 0), i))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order
    statistics (the usual definition, numpy's default)."""
    xs = sorted(values)
    pos = q / 100 * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    value = xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return min(value, xs[hi])  # guard against rounding above the upper neighbour


def weighted_vote(candidates: Sequence[Candidate], top_percent: float = 0.9, measure: Score = mean_confidence) -> int:
    """DeepConf offline voting (arXiv 2508.15260, sec. 3.1): confidence-weighted
    majority vote after keeping only the most confident traces.

    1. Filter: keep the candidates whose confidence is at least the
       (1 - eta)-quantile of the confidences, eta = `top_percent`; DeepConf
       uses eta = 10% ("DeepConf-low", aggressive) and 90% ("DeepConf-high").
    2. Vote: V(a) = sum over kept candidates t with answer a of C_t; the answer
       with the largest V wins (a tie goes to the answer seen first).

    C_t is `measure` (default: the mean token confidence, Agent Confidence).
    Candidates with an empty answer or no signal (-inf) take no part; if no
    candidate has both an answer and a signal, this falls back to `vote`.
    Returns the most confident kept candidate with the winning answer.
    """
    _check(candidates)
    if not 0 < top_percent <= 1:
        raise ValueError("top_percent must be in (0, 1]")
    pool = [(i, measure(c)) for i, c in enumerate(candidates) if c.answer]
    pool = [(i, s) for i, s in pool if math.isfinite(s)]
    if not pool:
        return vote(candidates)
    threshold = percentile([s for _, s in pool], (1 - top_percent) * 100)
    kept = [(i, s) for i, s in pool if s >= threshold]
    weight: dict[str, float] = {}
    best: dict[str, tuple[int, float]] = {}  # most confident (index, score) per answer; lowest index on ties
    for i, s in kept:
        a = candidates[i].answer
        weight[a] = weight.get(a, 0.0) + s
        if a not in best or s > best[a][1]:
            best[a] = (i, s)
    return best[max(weight, key=weight.__getitem__)][0]
