"""Token confidence and the per-token signals taken from runtime Completions."""

import math

import pytest

from agentforge.runtime.messages import Completion, TokenLogprob, TopLogprob
from agentforge.selectors.candidate import Candidate, candidate_signals, token_confidence


def tok(logprob: float, tops: list[float]) -> TokenLogprob:
    return TokenLogprob(token="t", logprob=logprob, top=[TopLogprob(token=f"a{j}", logprob=x) for j, x in enumerate(tops)])


def test_token_confidence_by_hand():
    # -(1/3) * (-0.1 - 2 - 3) = 5.1 / 3
    assert token_confidence([-0.1, -2, -3]) == pytest.approx(1.7)
    assert token_confidence([-1.0, -1.0]) == pytest.approx(1.0)


def test_peaked_distribution_is_more_confident_than_flat():
    peaked = [math.log(0.97), math.log(0.01), math.log(0.01), math.log(0.01)]
    flat = [math.log(0.25)] * 4
    assert token_confidence(peaked) > token_confidence(flat)


def test_token_confidence_needs_values():
    with pytest.raises(ValueError):
        token_confidence([])


def test_signals_span_all_completions_in_order():
    c1 = Completion(text="a", logprobs=[tok(-0.1, [-0.1, -2, -3]), tok(-0.5, [-0.5, -1.5])])
    c2 = Completion(text="b", logprobs=[tok(-0.2, [-0.2, -4.0])])
    lps, confs = candidate_signals([c1, c2])
    assert lps == [-0.1, -0.5, -0.2]
    assert confs == pytest.approx([1.7, 1.0, 2.1])


def test_completion_without_logprobs_adds_no_tokens():
    c1 = Completion(text="a", logprobs=None)
    c2 = Completion(text="b", logprobs=[tok(-0.5, [-0.5, -1.5])])
    assert candidate_signals([c1, c2]) == ([-0.5], [1.0])


def test_token_without_alternatives_gets_the_trajectory_mean():
    # confidences of the tokens with alternatives: 1.7 and 1.0 -> mean 1.35 fills the gap
    c = Completion(text="a", logprobs=[tok(-0.1, [-0.1, -2, -3]), tok(-3.0, []), tok(-0.5, [-0.5, -1.5]), tok(-1.0, [-1.0])])
    lps, confs = candidate_signals([c])
    assert lps == [-0.1, -3.0, -0.5, -1.0]
    assert confs == pytest.approx([1.7, 1.35, 1.0, 1.35])


def test_no_alternatives_anywhere_gives_no_confidence_signal():
    c = Completion(text="a", logprobs=[tok(-0.3, []), tok(-0.2, [])])
    assert candidate_signals([c]) == ([-0.3, -0.2], [])


def test_candidate_round_trips_and_memoizes_scores():
    c = Candidate(answer="x", token_logprobs=[-1.0], token_confidences=[2.0], correct=True, text="x()")
    assert Candidate.from_dict(c.to_dict()) == c
    calls = []
    assert c.score("s", lambda c: calls.append(1) or 5.0) == 5.0
    assert c.score("s", lambda c: calls.append(1) or 6.0) == 5.0
    assert calls == [1]
