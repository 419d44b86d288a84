"""Trace-level scores of a candidate, from its per-token signals.

Definitions from DeepConf (Fu et al., "Deep Think with Confidence", arXiv
2508.15260, sec. 2) with token confidence C_t (see candidate.py):

- average trace confidence: mean of C_t over all generated tokens (the
  Klear-AgentForge "Agent Confidence", arXiv 2511.05951);
- group confidence: C_G = (1/|G|) * sum_{t in G} C_t over a sliding window G of
  `window` consecutive tokens, sliding one token at a time (DeepConf uses
  2048); a trajectory shorter than the window is one group, the whole thing;
- lowest group confidence: min over the groups;
- bottom-10% group confidence: mean of the lowest 10% of the groups (at least
  one group: max(1, floor(0.1 * #groups)), as DeepConf's released analysis does);
- tail confidence: mean of C_t over the last `tail` tokens (2048 in DeepConf).

Every score is "higher = more confident". A candidate with no tokens (the
backend gave no logprobs, or the agent generated nothing) scores -inf, so it
loses to any candidate with signals.

Note: agent turns are short. With the paper's 2048-token window, a BFCL
trajectory of ~100 tokens is a single group, and lowest-group, bottom-10% and
tail all equal the mean confidence; pass a smaller window to tell them apart.
"""

from __future__ import annotations

import math
from itertools import accumulate
from typing import Sequence

from agentforge.selectors.candidate import Candidate

DEEPCONF_WINDOW = 2048  # DeepConf's group size and tail length
NO_SIGNAL = -math.inf


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else NO_SIGNAL


def group_confidences(confidences: Sequence[float], window: int = DEEPCONF_WINDOW) -> list[float]:
    """Mean confidence of every window of `window` consecutive tokens (stride 1);
    one group (the whole trajectory) when it is shorter than the window."""
    if window < 1:
        raise ValueError("window must be >= 1")
    n = len(confidences)
    if n == 0:
        return []
    if n <= window:
        return [sum(confidences) / n]
    prefix = [0.0, *accumulate(confidences)]  # prefix sums: O(n) instead of O(n * window)
    return [(prefix[i + window] - prefix[i]) / window for i in range(n - window + 1)]


def mean_logprob(c: Candidate) -> float:
    """Average log-probability of the generated tokens (length-normalized likelihood)."""
    return c.score("avg_logprob", lambda c: _mean(c.token_logprobs))


def mean_confidence(c: Candidate) -> float:
    """Agent Confidence: mean token confidence over the agent's generated tokens."""
    return c.score("confidence", lambda c: _mean(c.token_confidences))


def lowest_group_confidence(c: Candidate, window: int = DEEPCONF_WINDOW) -> float:
    """min_G C_G: the trajectory's least confident stretch."""
    return c.score(f"lowest_group:{window}", lambda c: min(group_confidences(c.token_confidences, window), default=NO_SIGNAL))


def bottom_percent_confidence(c: Candidate, percent: float = 0.1, window: int = DEEPCONF_WINDOW) -> float:
    """Mean of the lowest `percent` of the group confidences (at least one group)."""

    def compute(c: Candidate) -> float:
        groups = sorted(group_confidences(c.token_confidences, window))
        if not groups:
            return NO_SIGNAL
        keep = max(1, int(len(groups) * percent))
        return sum(groups[:keep]) / keep

    return c.score(f"bottom:{percent}:{window}", compute)


def tail_confidence(c: Candidate, tail: int = DEEPCONF_WINDOW) -> float:
    """Mean token confidence of the last `tail` tokens (where the answer is written)."""
    return c.score(f"tail:{tail}", lambda c: _mean(c.token_confidences[-tail:]))
