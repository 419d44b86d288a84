"""The selector registry: names, tie-breaking, oracle, ranking."""

import pytest

from agentforge.selectors import SELECTORS, Candidate, rank, select


def c(answer: str, confs: list[float], lps: list[float] | None = None, correct: bool | None = None) -> Candidate:
    return Candidate(answer=answer, token_logprobs=lps if lps is not None else [-0.5] * len(confs),
                     token_confidences=confs, correct=correct)


def test_registry_has_the_issue_names():
    expected = {"vote", "avg_logprob", "confidence", "lowest_group", "tail", "bottom10",
                "weighted_vote", "weighted_vote_top10", "weighted_vote_top90", "oracle", "first"}
    assert expected <= set(SELECTORS)


def test_confidence_picks_highest_mean_token_confidence():
    cands = [c("a", [1.0, 3.0]), c("b", [2.5, 2.0]), c("c", [0.5, 5.0])]  # means 2.0, 2.25, 2.75
    assert select(cands, "confidence") == 2
    assert rank(cands, "confidence") == [2, 1, 0]


def test_avg_logprob_picks_highest_mean_logprob():
    cands = [c("a", [1.0], lps=[-0.1, -0.9]), c("b", [1.0], lps=[-0.2, -0.3])]  # -0.5 vs -0.25
    assert select(cands, "avg_logprob") == 1


def test_ties_go_to_the_lowest_index():
    cands = [c("a", [2.0]), c("b", [1.0]), c("c", [2.0])]
    for name in ("confidence", "lowest_group", "tail", "bottom10"):
        assert select(cands, name) == 0
    assert rank(cands, "confidence") == [0, 2, 1]


def test_candidate_without_signal_loses_to_any_signal():
    cands = [c("a", []), c("b", [0.01])]
    assert select(cands, "confidence") == 1


def test_lowest_group_differs_from_mean_when_window_is_small():
    from functools import partial

    from agentforge.selectors.confidence import lowest_group_confidence
    from agentforge.selectors.registry import best_by

    steady = c("a", [2.0] * 6)  # mean 2, every window 2
    dip = c("b", [4.0, 4.0, 0.0, 0.0, 4.0, 4.0])  # mean 2.67 but a window of 2 at 0
    assert select([steady, dip], "confidence") == 1
    assert best_by([steady, dip], partial(lowest_group_confidence, window=2)) == 0


def test_oracle_and_first():
    cands = [c("a", [1.0], correct=False), c("b", [1.0], correct=True), c("c", [1.0], correct=True)]
    assert select(cands, "oracle") == 1
    assert select([c("a", [1.0], correct=False)] * 2, "oracle") == 0
    assert select(cands, "first") == 0


def test_unknown_names_fail_clearly():
    with pytest.raises(ValueError, match="unknown selector"):
        select([c("a", [1.0])], "nope")
    with pytest.raises(ValueError, match="cannot rank"):
        rank([c("a", [1.0])], "oracle")
    assert rank([c("x", []), c("y", []), c("y", [])], "vote") == [1, 2, 0]
