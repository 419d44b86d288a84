"""Every synchronous selector by name, plus ranking by a trace score.

A selector is a plain function `(candidates) -> index`. Ties always go to the
lowest index, so a selection is a pure function of the candidates and their
order. The LLM-judge tournament is async and needs a model: see knockout.py.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.confidence import (
    bottom_percent_confidence,
    lowest_group_confidence,
    mean_confidence,
    mean_logprob,
    tail_confidence,
)
from agentforge.selectors.voting import rank_by_votes, vote, weighted_vote

Selector = Callable[[Sequence[Candidate]], int]
Score = Callable[[Candidate], float]


def best_by(candidates: Sequence[Candidate], score: Score) -> int:
    """Index of the highest score (lowest index on ties)."""
    if not candidates:
        raise ValueError("no candidates to select from")
    best, best_score = 0, score(candidates[0])
    for i in range(1, len(candidates)):
        s = score(candidates[i])
        if s > best_score:
            best, best_score = i, s
    return best


def rank_by(candidates: Sequence[Candidate], score: Score) -> list[int]:
    """Indices from highest to lowest score (lower index first on ties)."""
    scores = [score(c) for c in candidates]
    return sorted(range(len(candidates)), key=lambda i: (-scores[i], i))


def oracle(candidates: Sequence[Candidate]) -> int:
    """The first correct candidate, else 0: its accuracy at N is pass@N."""
    return next((i for i, c in enumerate(candidates) if c.correct), 0)


def first(candidates: Sequence[Candidate]) -> int:
    """The single-sample baseline: take the first candidate."""
    if not candidates:
        raise ValueError("no candidates to select from")
    return 0


# Trace scores (higher = better) that both select and rank.
SCORES: dict[str, Score] = {
    "avg_logprob": mean_logprob,
    "confidence": mean_confidence,  # Agent Confidence Select (Klear-AgentForge)
    "lowest_group": lowest_group_confidence,
    "tail": tail_confidence,
    "bottom10": bottom_percent_confidence,
}

SELECTORS: dict[str, Selector] = {
    "first": first,
    "vote": vote,
    **{name: partial(best_by, score=score) for name, score in SCORES.items()},
    "weighted_vote": partial(weighted_vote, top_percent=1.0),  # no filtering
    "weighted_vote_top10": partial(weighted_vote, top_percent=0.1),  # DeepConf-low
    "weighted_vote_top90": partial(weighted_vote, top_percent=0.9),  # DeepConf-high
    "oracle": oracle,
}


def rank(candidates: Sequence[Candidate], selector: str = "confidence") -> list[int]:
    """All candidate indices, best first, for a score selector or `vote`."""
    if selector == "vote":
        return rank_by_votes(candidates)
    if selector not in SCORES:
        raise ValueError(f"cannot rank by {selector!r}; rankable: vote, {', '.join(SCORES)}")
    return rank_by(candidates, SCORES[selector])


def select(candidates: Sequence[Candidate], selector: str) -> int:
    """Run the selector called `selector` (a key of SELECTORS)."""
    try:
        fn = SELECTORS[selector]
    except KeyError:
        raise ValueError(f"unknown selector {selector!r}; known: {', '.join(SELECTORS)}") from None
    return fn(candidates)
