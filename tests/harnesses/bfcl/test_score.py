"""Verdict dispatch per category, and the v3 summary formula on hand-computed numbers."""

import pytest

from agentforge.harnesses.bfcl.data import CATEGORIES
from agentforge.harnesses.bfcl.score import V3_COUNTS, has_call, overall, score_entry

ENTRY = {"id": "x_0", "function": [{"name": "f", "description": "", "parameters": {
    "type": "dict", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}]}


@pytest.mark.parametrize("decoded, error, called", [
    ([], None, False),                      # an empty call list
    (None, "invalid syntax", False),        # nothing decoded
    ([{}], None, False),                    # an empty dict is no call
    ("I can't help with that", None, False),
    ([{"f": {}}], None, True),              # any call counts, arguments unchecked
    ([{"f": {"a": 1}}, {"g": {}}], None, True),
])
def test_irrelevance_and_relevance_are_opposite_rules(decoded, error, called):
    assert has_call(decoded) == (called and error is None)
    irrelevance = score_entry("live_irrelevance", ENTRY, None, decoded, error)
    relevance = score_entry("live_relevance", ENTRY, None, decoded, error)
    assert irrelevance.valid is (not called) and relevance.valid is called
    assert score_entry("irrelevance", ENTRY, None, decoded, error).valid is (not called)


def test_ast_categories_fail_on_decode_errors_and_check_otherwise():
    answer = [{"f": {"a": [1]}}]
    assert score_entry("simple", ENTRY, answer, None, "bad").error_type == "ast_decoder:decoder_failed"
    assert score_entry("simple", ENTRY, answer, [{"f": {"a": 1}}]).valid
    assert not score_entry("simple", ENTRY, answer, [{"f": {"a": 2}}]).valid


def test_overall_formula_by_hand():
    acc = {c: 0.0 for c in CATEGORIES}
    acc.update(simple=0.9, java=0.6, javascript=0.3, multiple=0.8, parallel=0.7, parallel_multiple=0.5, irrelevance=1.0)
    acc.update(live_simple=0.5, live_multiple=0.25, live_parallel=1.0, live_parallel_multiple=0.0,
               live_irrelevance=0.75, live_relevance=1.0)
    acc.update(multi_turn_base=0.4, multi_turn_miss_func=0.2, multi_turn_miss_param=0.1, multi_turn_long_context=0.3)
    got = overall(acc)
    simple = (0.9 + 0.6 + 0.3) / 3  # python/java/js simple: unweighted
    non_live = (simple + 0.8 + 0.7 + 0.5 + 1.0) / 5  # irrelevance included, unweighted
    live = (0.5 * 258 + 0.25 * 1053 + 1.0 * 16 + 0.0 * 24 + 0.75 * 882 + 1.0 * 18) / (258 + 1053 + 16 + 24 + 882 + 18)
    multi_turn = (0.4 + 0.2 + 0.1 + 0.3) / 4
    assert got["simple_ast"] == pytest.approx(simple)
    assert got["non_live"] == pytest.approx(non_live)
    assert got["live"] == pytest.approx(live)  # weighted by entries
    assert got["multi_turn"] == pytest.approx(multi_turn)
    assert got["overall"] == pytest.approx((non_live + live + multi_turn) / 3)


def test_overall_counts_a_missing_category_as_zero_and_weights_live_by_run_counts():
    only = overall({"live_simple": 1.0}, counts={"live_simple": 10})
    assert only["live"] == pytest.approx(10 / (10 + sum(V3_COUNTS[c] for c in (
        "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance"))))
    assert only["non_live"] == 0 and only["multi_turn"] == 0
    with pytest.raises(ValueError):
        overall({"nonsense": 1.0})
