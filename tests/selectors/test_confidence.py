"""DeepConf trace scores, checked against windows computed by hand."""

import math

import pytest

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.confidence import (
    bottom_percent_confidence,
    group_confidences,
    lowest_group_confidence,
    mean_confidence,
    mean_logprob,
    tail_confidence,
)


def cand(confs, lps=None) -> Candidate:
    return Candidate(answer="a", token_logprobs=lps if lps is not None else [-0.5] * len(confs), token_confidences=list(confs))


def test_group_windows_by_hand():
    # windows of 3 over [1,2,3,4,5]: (1+2+3)/3, (2+3+4)/3, (3+4+5)/3
    assert group_confidences([1, 2, 3, 4, 5], window=3) == pytest.approx([2, 3, 4])
    assert group_confidences([5, 1, 1, 5, 5], window=2) == pytest.approx([3, 1, 3, 5])


def test_shorter_than_window_is_one_group_of_everything():
    assert group_confidences([1, 2, 6], window=2048) == pytest.approx([3])
    assert group_confidences([1, 2, 6], window=3) == pytest.approx([3])
    assert group_confidences([], window=4) == []
    with pytest.raises(ValueError):
        group_confidences([1.0], window=0)


def test_long_trace_matches_direct_window_means():
    confs = [((i * 37) % 11) / 3 for i in range(300)]
    direct = [sum(confs[i:i + 50]) / 50 for i in range(251)]
    assert group_confidences(confs, window=50) == pytest.approx(direct)


def test_mean_scores():
    c = cand([1.0, 2.0, 6.0], lps=[-0.1, -0.2, -0.6])
    assert mean_confidence(c) == pytest.approx(3.0)
    assert mean_logprob(c) == pytest.approx(-0.3)


def test_lowest_group_by_hand():
    # windows of 3 over [5,1,1,5,5]: 7/3, 7/3, 11/3 -> lowest 7/3
    assert lowest_group_confidence(cand([5, 1, 1, 5, 5]), window=3) == pytest.approx(7 / 3)
    # default window (2048) > length: the whole-trace mean
    assert lowest_group_confidence(cand([5, 1, 1, 5, 5])) == pytest.approx(17 / 5)


def test_bottom_percent_by_hand():
    # windows of 2 over [6,0,2,4,4,4,4,4,4,4]: 3,1,3,4,4,4,4,4,4 (9 groups)
    c = cand([6, 0, 2, 4, 4, 4, 4, 4, 4, 4])
    # 25% of 9 groups -> int(2.25) = 2 lowest: 1 and 3 -> 2
    assert bottom_percent_confidence(c, percent=0.25, window=2) == pytest.approx(2.0)
    # 10% of 9 -> 0, at least one group: the minimum
    assert bottom_percent_confidence(c, percent=0.1, window=2) == pytest.approx(1.0)


def test_bottom10_of_twenty_groups_averages_two():
    confs = [10.0] * 21
    confs[3] = 0.0  # windows of 2: 20 groups, two of them (2-3, 3-4) at 5.0
    confs[15] = 8.0  # groups 14-15, 15-16 at 9.0
    assert bottom_percent_confidence(cand(confs), window=2) == pytest.approx(5.0)


def test_tail_by_hand():
    assert tail_confidence(cand([1, 2, 3, 4, 5]), tail=2) == pytest.approx(4.5)
    assert tail_confidence(cand([1, 2, 3, 4, 5])) == pytest.approx(3.0)


def test_no_tokens_scores_minus_infinity():
    empty = cand([], lps=[])
    for score in (mean_confidence, mean_logprob, lowest_group_confidence, bottom_percent_confidence, tail_confidence):
        assert score(empty) == -math.inf
