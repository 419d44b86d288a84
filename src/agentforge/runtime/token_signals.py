"""Per-token signals of what a model generated, read from a completion's logprobs.

Token confidence follows DeepConf (Fu et al., "Deep Think with Confidence",
arXiv 2508.15260, eq. 2): C_i = -(1/k) * sum_{j<=k} log P_i(j), the negative
mean log-probability of the top-k alternatives at position i. A peaked
distribution (the model is sure) gives a large C_i; a flat one a small C_i.

They live in the runtime because the agent loops record them with every run
(runtime/coding/loop.py); the selectors (agentforge.selectors) read them.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from agentforge.runtime.messages import Completion


def token_confidence(top_logprobs: Sequence[float]) -> float:
    """DeepConf token confidence C = -(1/k) * sum_{j<=k} log P(j) over the k
    alternatives given (k = len(top_logprobs)).

    Example: top-3 logprobs [-0.1, -2, -3] -> (0.1 + 2 + 3) / 3 = 1.7.
    """
    if not top_logprobs:
        raise ValueError("token_confidence needs at least one log-probability")
    return -sum(top_logprobs) / len(top_logprobs)


def candidate_signals(completions: Iterable[Completion]) -> tuple[list[float], list[float]]:
    """(token_logprobs, token_confidences) over every generated token of the
    trajectory's completions, in order.

    Only the agent's generated tokens exist here: a Completion holds one
    sampled assistant turn, never prompt or tool-output tokens. A completion
    without logprobs (the backend gave none) contributes no tokens.

    Tokens with fewer than 2 alternatives: the formula needs the alternatives.
    With k = 1 it degenerates to -log P(chosen), the token's surprise, which
    grows as the model gets *less* sure - the opposite direction. So such a
    token gets the mean confidence of the trajectory's tokens that do have
    alternatives (neutral: the mean is unchanged, positions stay aligned with
    token_logprobs). If no token has them, token_confidences is empty and the
    confidence selectors see no signal for this candidate (ask the backend for
    top_logprobs; 20 is the default of the issue).
    """
    logprobs: list[float] = []
    confidences: list[float | None] = []
    for completion in completions:
        for tok in completion.logprobs or ():
            logprobs.append(tok.logprob)
            confidences.append(token_confidence([t.logprob for t in tok.top]) if len(tok.top) >= 2 else None)
    known = [c for c in confidences if c is not None]
    if not known:
        return logprobs, []
    fill = sum(known) / len(known)
    return logprobs, [fill if c is None else c for c in confidences]
