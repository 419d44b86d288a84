"""Majority vote and DeepConf's confidence-weighted vote, by hand."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentforge.selectors.candidate import Candidate
from agentforge.selectors.voting import percentile, rank_by_votes, vote, weighted_vote


def c(answer: str, conf: float | None = None) -> Candidate:
    confs = [] if conf is None else [conf]
    return Candidate(answer=answer, token_logprobs=[-0.1] * len(confs), token_confidences=confs)


def test_vote_majority_and_first_index_of_winner():
    assert vote([c("x"), c("y"), c("y"), c("x"), c("y")]) == 1


def test_vote_tie_goes_to_answer_seen_first():
    assert vote([c("b"), c("a"), c("a"), c("b")]) == 0
    assert vote([c("a"), c("b")]) == 0


def test_empty_answers_never_win_unless_all_empty():
    assert vote([c(""), c(""), c(""), c("x")]) == 3
    assert vote([c(""), c("")]) == 0
    with pytest.raises(ValueError):
        vote([])


def test_rank_by_votes():
    assert rank_by_votes([c("x"), c(""), c("y"), c("y"), c("")]) == [2, 3, 0, 1, 4]


def test_percentile_linear_interpolation_by_hand():
    xs = [1, 1, 1.5, 4, 5]
    assert percentile(xs, 10) == pytest.approx(1.0)  # position 0.4: between 1 and 1
    assert percentile(xs, 90) == pytest.approx(4.6)  # position 3.6: 4 + 0.6 * (5 - 4)
    assert percentile([3, 1, 2], 50) == pytest.approx(2)
    assert percentile([7.0], 90) == 7.0


def test_weighted_vote_beats_plain_vote_by_hand():
    # X: confidences 5 + 4 = 9; Y: 1 + 1 + 1.5 = 3.5. Plain vote picks Y (3 votes).
    cands = [c("X", 5), c("X", 4), c("Y", 1), c("Y", 1), c("Y", 1.5)]
    assert vote(cands) == 2
    assert weighted_vote(cands, top_percent=1.0) == 0
    assert weighted_vote(cands, top_percent=0.9) == 0  # threshold 1.0 keeps all


def test_top10_and_top90_filters_by_hand():
    # confidences sorted: 1, 3, 3, 3, 8
    cands = [c("B", 3), c("B", 3), c("B", 3), c("A", 8), c("C", 1)]
    # eta = 90%: threshold = 10th percentile = 1 + 0.4 * (3 - 1) = 1.8 -> drops C;
    # B = 9 > A = 8 -> B, its most confident candidate (ties -> lowest index 0)
    assert weighted_vote(cands, top_percent=0.9) == 0
    # eta = 10%: threshold = 90th percentile = 3 + 0.6 * (8 - 3) = 6 -> only A survives
    assert weighted_vote(cands, top_percent=0.1) == 3


def test_weighted_vote_returns_most_confident_candidate_of_winning_answer():
    assert weighted_vote([c("X", 1), c("X", 3), c("Y", 2)], top_percent=1.0) == 1


def test_weighted_vote_ignores_empty_and_signal_less_candidates():
    # the empty answer has the highest confidence but never wins
    assert weighted_vote([c("", 50), c("X", 1), c("Y", 2)], top_percent=1.0) == 2
    # no confidence signal anywhere -> plain vote
    assert weighted_vote([c("X"), c("Y"), c("Y")]) == 1
    assert weighted_vote([c(""), c("")]) == 0
    with pytest.raises(ValueError):
        weighted_vote([c("X", 1)], top_percent=0)


def brute_weighted(answers: list[str], confs: list[float]) -> str:
    totals: dict[str, float] = {}
    for a, w in zip(answers, confs):
        totals[a] = totals.get(a, 0.0) + w
    best = max(totals.values())
    return next(a for a in answers if totals[a] == best)  # ties: the answer seen first


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 20)), min_size=1, max_size=8))
def test_unfiltered_weighted_vote_matches_brute_force(pairs):
    cands = [c(a, float(w)) for a, w in pairs]
    winner = brute_weighted([a for a, _ in pairs], [float(w) for _, w in pairs])
    assert cands[weighted_vote(cands, top_percent=1.0)].answer == winner


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=1, max_size=8))
def test_vote_picks_a_most_frequent_nonempty_answer(answers):
    cands = [c(a) for a in answers]
    i = vote(cands)
    counts = {a: answers.count(a) for a in answers if a}
    if counts:
        assert counts[answers[i]] == max(counts.values())
        assert i == answers.index(answers[i])
    else:
        assert i == 0


def test_vote_is_invariant_to_order_up_to_ties():
    answers = ["a", "b", "a", "c", "a", "b"]
    for perm in itertools.permutations(answers):
        cands = [c(a) for a in perm]
        assert cands[vote(cands)].answer == "a"
