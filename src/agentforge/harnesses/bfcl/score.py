"""BFCL v3 scoring: one verdict per entry, and the leaderboard's summary formula.

Per entry (as the official evaluation runner dispatches):
- irrelevance / live_irrelevance: correct iff no call was decoded (a decode
  error, or an empty call list, counts as "no call");
- live_relevance: correct iff at least one call was decoded (any call; the
  arguments are not checked);
- multi_turn_*: the multi-turn checker on the recorded turns (a decode error
  beside a list of turns is ignored, as officially after a force-quit: in the
  last turn it does not fail the entry, earlier the turn count falls short);
- everything else: a decode error fails, then the AST checker.

Summary (the official leaderboard table, `generate_leaderboard_csv`):
- non-live = unweighted mean of five: simple (itself the unweighted mean of
  python simple, java, javascript), multiple, parallel, parallel_multiple,
  irrelevance;
- live = mean over entries (weighted by entry count) of live_simple,
  live_multiple, live_parallel, live_parallel_multiple, live_irrelevance,
  live_relevance;
- multi-turn = unweighted mean of the four multi-turn categories;
- overall = unweighted mean of live, non-live and multi-turn.
A category that was not run counts as 0 (the official table shows N/A for it
but still averages a 0 in).
"""

from __future__ import annotations

from typing import Any

from agentforge.harnesses.bfcl.checker import Verdict, check_ast, is_call_list
from agentforge.harnesses.bfcl.data import CATEGORIES, GROUPS, is_multi_turn
from agentforge.harnesses.bfcl.multi_turn import DEFAULT_MODEL_NAME
from agentforge.harnesses.bfcl.multi_turn_check import TruthRun, check_multi_turn


def has_call(decoded: Any) -> bool:
    """The official "contains a function call" test for (ir)relevance."""
    if not is_call_list(decoded) or len(decoded) == 0:
        return False
    return not (len(decoded) == 1 and len(decoded[0]) == 0)


def score_entry(
    category: str,
    entry: dict,
    answer: Any,
    decoded: Any,
    decode_error: str | None = None,
    *,
    underscore_to_dot: bool = False,
    model_name: str = DEFAULT_MODEL_NAME,
    truth: TruthRun | None = None,
) -> Verdict:
    """The verdict on one entry. `decoded`: single-turn `[{name: {param: value}}]`,
    multi-turn list[turn] of list[step] of list[{"name", "arguments"}]; `answer`:
    the entry's ground truth (None for the (ir)relevance categories); `truth`: a
    multi-turn answer's precomputed run (see score_cache), else run and memoized."""
    if "irrelevance" in category or "relevance" in category:
        called = decode_error is None and has_call(decoded)
        if "irrelevance" in category:
            if called:
                return Verdict(False, "irrelevance_error:decoder_success", ["a call was made where none fits"])
            return Verdict(True)
        if not called:
            return Verdict(False, "relevance_error:decoder_failed", [f"no call decoded. {decode_error or ''}".strip()])
        return Verdict(True)
    if is_multi_turn(category):
        # The official runner scores whatever turns were recorded, even after a
        # force-quit (too many steps): only a missing list of turns fails outright.
        try:
            return check_multi_turn(entry, decoded, answer, model_name=model_name, truth=truth)
        except Exception as e:  # a checker crash must not lose the run
            return Verdict(False, "checker:exception", [f"{type(e).__name__}: {e}"])
    if decode_error is not None:
        return Verdict(False, "ast_decoder:decoder_failed", [decode_error])
    try:
        return check_ast(entry["function"], decoded, answer, category, underscore_to_dot=underscore_to_dot)
    except Exception as e:
        return Verdict(False, "checker:exception", [f"{type(e).__name__}: {e}"])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def overall(accuracy_by_category: dict[str, float], counts: dict[str, int] | None = None) -> dict[str, float]:
    """The v3 summary from per-category accuracies (0..1): keys `non_live`, `live`,
    `multi_turn`, `overall` (plus `simple_ast` and `live_ast` sub-summaries).

    `counts` (entries per category) weights the live group; by default the full
    v3 sizes, which is what the leaderboard uses when every entry was run.
    """
    unknown = set(accuracy_by_category) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown BFCL categories: {sorted(unknown)}")
    acc = {c: float(accuracy_by_category.get(c, 0.0)) for c in CATEGORIES}
    n = dict(V3_COUNTS, **(counts or {}))
    simple = _mean([acc["simple"], acc["java"], acc["javascript"]])
    non_live = _mean([simple, acc["multiple"], acc["parallel"], acc["parallel_multiple"], acc["irrelevance"]])
    live_ast = _weighted(acc, n, ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"])
    live = _weighted(acc, n, list(GROUPS["live"]))
    multi_turn = _mean([acc[c] for c in GROUPS["multi_turn"]])
    return {
        "simple_ast": simple,
        "non_live_ast": _mean([simple, acc["multiple"], acc["parallel"], acc["parallel_multiple"]]),
        "non_live": non_live,
        "live_ast": live_ast,
        "live": live,
        "multi_turn": multi_turn,
        "overall": _mean([live, non_live, multi_turn]),
    }


def _weighted(acc: dict[str, float], counts: dict[str, int], categories: list[str]) -> float:
    total = sum(counts[c] for c in categories)
    return sum(acc[c] * counts[c] for c in categories) / total


# Entries per category in v3 (bfcl-eval 2025.6.16); the live group's weights.
V3_COUNTS: dict[str, int] = {
    "simple": 400, "irrelevance": 240, "parallel": 200, "multiple": 200, "parallel_multiple": 200,
    "java": 100, "javascript": 50,
    "live_simple": 258, "live_multiple": 1053, "live_parallel": 16, "live_parallel_multiple": 24,
    "live_irrelevance": 882, "live_relevance": 18,
    "multi_turn_base": 200, "multi_turn_miss_func": 200, "multi_turn_miss_param": 200, "multi_turn_long_context": 200,
}
