"""pass^k (tau-bench's reliability metric): the probability that all k of k
trials succeed, estimated without bias per task as C(c, k) / C(n, k) and
averaged over tasks."""

import itertools

import pytest

from agentforge.harnesses.metrics import TaskOutcome, pass_at_k, pass_hat_k, summarize
from agentforge.selectors import Candidate


def outcome(task_id: str, rights: list[bool], category: str = "cat") -> TaskOutcome:
    return TaskOutcome(task_id, category, [Candidate("right" if r else "wrong", [-0.5], [1.0], correct=r)
                                           for r in rights])


def test_pass_hat_k_by_hand():
    assert pass_hat_k(4, 2, 1) == pytest.approx(0.5)  # pass^1 = c/n = pass@1
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)  # C(2,2)/C(4,2)
    assert pass_hat_k(5, 3, 2) == pytest.approx(3 / 10)  # C(3,2)/C(5,2)
    assert pass_hat_k(4, 3, 4) == 0.0  # 3 right of 4: never 4 of 4
    assert pass_hat_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k(3, 1, 4)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("estimator, rule", [(pass_at_k, any), (pass_hat_k, all)], ids=["pass@k", "pass^k"])
def test_estimators_equal_brute_force_over_subsets(n, estimator, rule):
    """pass@k: some one of k drawn trials is right; pass^k: all k are."""
    for c in range(n + 1):
        right = [i < c for i in range(n)]
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(range(n), k))
            brute = sum(rule(right[i] for i in s) for s in subsets) / len(subsets)
            assert estimator(n, c, k) == pytest.approx(brute)
            assert pass_hat_k(n, c, k) <= pass_at_k(n, c, k) + 1e-12  # all k right implies one right


def test_summary_pass_hat_is_the_mean_over_tasks_and_falls_with_k():
    outs = [outcome("a", [True] * 4, "A"), outcome("b", [True, True, False, False], "A"),
            outcome("c", [True, False, False, False], "B")]
    s = summarize(outs, selectors=["first"], pass_hat=True)
    row = s["aggregate"]["overall"]
    assert row["pass^k"]["1"] == pytest.approx(row["pass@1"])
    assert row["pass^k"]["2"] == pytest.approx((1 + 1 / 6 + 0) / 3)
    assert row["pass^k"]["4"] == pytest.approx(1 / 3)  # only task a is solved every time
    assert row["pass^k"]["4"] < row["pass^k"]["2"] < row["pass^k"]["1"]
    assert s["categories"]["B"]["pass^k"]["2"] == 0.0


def test_pass_hat_is_opt_in_and_goes_through_a_harness_aggregate():
    outs = [outcome("a", [True, True], "A"), outcome("b", [True, False], "B")]
    assert "pass^k" not in summarize(outs, selectors=["first"])["aggregate"]["overall"]
    s = summarize(outs, selectors=["first"], pass_hat=True,
                  aggregate=lambda by_cat: {"mean": sum(by_cat.values()) / len(by_cat)})
    assert s["aggregate"]["mean"]["pass^k"]["2"] == pytest.approx((1 + 0) / 2)
