"""The shared report: pass@k, selected@k, aggregates, files."""

import itertools
import json
import random
import sys
from io import StringIO

import pytest
from rich.console import Console

from agentforge.harnesses.metrics import TaskOutcome, ks_for, pass_at_k, subset_draws, summarize, task_metrics
from agentforge.harnesses.report import print_report, write_report
from agentforge.selectors import SELECTORS, Candidate


def cand(correct: bool, conf: float = 1.0, answer: str | None = None) -> Candidate:
    return Candidate(answer=answer if answer is not None else ("right" if correct else "wrong"),
                     token_logprobs=[-0.5], token_confidences=[conf], correct=correct)


def outcome(task_id: str, rights: list[bool], category: str = "cat") -> TaskOutcome:
    return TaskOutcome(task_id, category, [cand(r) for r in rights])


def test_ks():
    assert ks_for(8) == [1, 2, 4, 8]
    assert ks_for(6) == [1, 2, 4, 6]
    assert ks_for(1) == [1]
    assert ks_for(16) == [1, 2, 4, 8, 16]


def test_pass_at_k_by_hand():
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(8, 3, 1) == pytest.approx(3 / 8)  # pass@1 = c/n
    assert pass_at_k(3, 0, 3) == 0.0
    assert pass_at_k(3, 3, 1) == 1.0
    assert pass_at_k(4, 3, 2) == 1.0  # n - c < k
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_subset_draws_exact_mode_covers_every_subset_and_leader():
    draws = subset_draws(4, 2, draws=32, rng=random.Random(0))  # C(4,2) * 2 = 12 <= 32
    assert len(draws) == 12
    assert {frozenset(d) for d in draws} == {frozenset(s) for s in itertools.combinations(range(4), 2)}
    leaders = [d[0] for d in draws]
    assert all(leaders.count(i) == 3 for i in range(4))


def test_subset_draws_random_mode():
    a = subset_draws(8, 4, draws=32, rng=random.Random("s"))  # C(8,4) * 4 = 280 > 32
    b = subset_draws(8, 4, draws=32, rng=random.Random("s"))
    assert a == b and len(a) == 32
    assert all(len(set(d)) == 4 and all(0 <= i < 8 for i in d) for d in a)
    assert len({d[0] for d in a}) > 1  # order is random, not sorted


def test_oracle_equals_pass_at_k_and_first_equals_pass_at_1_when_exact():
    # n = 4: C(4,k) * k <= 32 for every k, so every selected@k is exact
    o = outcome("t", [False, True, False, True])
    m = task_metrics(o, 4, ks_for(4), SELECTORS)
    for k in ks_for(4):
        assert m["selected@k"]["oracle"][str(k)] == pytest.approx(m["pass@k"][str(k)])
        assert m["selected@k"]["first"][str(k)] == pytest.approx(0.5)


def random_outcomes(tasks: int, n: int, seed: int = 0) -> list[TaskOutcome]:
    rng = random.Random(seed)
    out = []
    for t in range(tasks):
        p = rng.random()
        cs = []
        for _ in range(n):
            ok = rng.random() < p
            # confidence is informative but noisy; wrong answers split over three values
            cs.append(cand(ok, conf=rng.gauss(2.0 + ok, 1.0), answer="right" if ok else f"w{rng.randint(0, 2)}"))
        out.append(TaskOutcome(f"t{t}", f"cat{t % 3}", cs))
    return out


def test_selector_bounds_on_random_runs():
    s = summarize(random_outcomes(120, 8), draws=32)
    row = s["aggregate"]["overall"]
    for k in s["ks"]:
        oracle = row["selected@k"]["oracle"][str(k)]
        for name in s["selectors"]:
            assert row["selected@k"][name][str(k)] <= oracle + 1e-12
        # the oracle estimate is pass@k (exact at k = 1 and k = N, sampled between)
        assert oracle == pytest.approx(row["pass@k"][str(k)], abs=0.03)
        # first of a random draw is a random candidate: pass@1 up to sampling noise
        assert row["selected@k"]["first"][str(k)] == pytest.approx(row["pass@1"], abs=0.03)
        assert row["selected@k"][name]["1"] == pytest.approx(row["pass@1"])  # k = 1: nothing to select
    # informative confidence must beat a single sample at N
    assert row["selected@k"]["confidence"]["8"] > row["pass@1"] + 0.1
    assert row["pass@N"] == row["pass@k"]["8"]


def test_missing_candidates_count_as_wrong():
    s = summarize([outcome("a", [True, True, True, True]), outcome("b", [True, False])], selectors=["first", "oracle"])
    assert s["n"] == 4 and s["padded_tasks"] == 1
    # task b is padded to [T, F, F, F]: pass@1 = 1/4
    assert s["aggregate"]["overall"]["pass@1"] == pytest.approx((1 + 0.25) / 2)
    assert s["aggregate"]["overall"]["pass@k"]["2"] == pytest.approx((1 + 0.5) / 2)  # 1 - C(3,2)/C(4,2)


def test_unscored_candidates_count_as_wrong_and_are_counted():
    o = TaskOutcome("a", "c", [cand(True), Candidate("x", [], [], correct=None)])
    s = summarize([o], selectors=["first"])
    assert s["unscored_candidates"] == 1
    assert s["aggregate"]["overall"]["pass@1"] == pytest.approx(0.5)


def test_default_overall_is_micro_average_and_custom_aggregate_is_applied():
    outcomes = [outcome("a1", [True, True], "A")] + [outcome(f"b{i}", [False, False], "B") for i in range(3)]
    s = summarize(outcomes, selectors=["first"])
    assert s["categories"]["A"]["pass@1"] == 1.0 and s["categories"]["B"]["pass@1"] == 0.0
    assert s["aggregate"]["overall"]["pass@1"] == pytest.approx(0.25)  # 1 of 4 tasks, not (1 + 0) / 2
    assert s["aggregate"]["overall"]["tasks"] == 4

    def macro(by_cat: dict[str, float]) -> dict[str, float]:
        return {"macro": sum(by_cat.values()) / len(by_cat), "best": max(by_cat.values())}

    s = summarize(outcomes, selectors=["first"], aggregate=macro)
    assert list(s["aggregate"]) == ["macro", "best"]
    assert s["aggregate"]["macro"]["pass@1"] == pytest.approx(0.5)
    assert s["aggregate"]["macro"]["selected@k"]["first"]["2"] == pytest.approx(0.5)
    assert s["aggregate"]["best"]["pass@N"] == 1.0


def test_summary_is_deterministic_and_independent_of_task_order():
    outs = random_outcomes(20, 8, seed=3)
    a = summarize(outs, seed=7)
    b = summarize(list(reversed(outs)), seed=7)
    assert a["aggregate"] == b["aggregate"] and a["categories"] == b["categories"]


def test_selectors_by_name_or_mapping():
    outs = [outcome("a", [False, True])]
    with pytest.raises(ValueError, match="unknown selectors"):
        summarize(outs, selectors=["nope"])
    s = summarize(outs, selectors={"last": lambda cs: len(cs) - 1})
    assert s["selectors"] == ["last"]
    with pytest.raises(ValueError):
        summarize([])


def test_write_report_files(tmp_path):
    s = write_report(random_outcomes(12, 4), tmp_path / "run", title="unit")
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert files == {"summary.json", "report.txt", "report.png"}
    assert (tmp_path / "run" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk == s
    assert set(on_disk) >= {"title", "n", "ks", "selectors", "draws", "seed", "tasks", "padded_tasks",
                            "unscored_candidates", "categories", "aggregate", "plot"}
    assert set(on_disk["aggregate"]["overall"]) == {"tasks", "pass@1", "pass@N", "pass@k", "selected@k"}
    assert on_disk["plot"] == "report.png"
    text = (tmp_path / "run" / "report.txt").read_text()
    for word in ("cat0", "cat1", "cat2", "overall", "pass@1", "k=4"):
        assert word in text


def test_no_matplotlib_skips_the_plot_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    s = write_report([outcome("a", [True, False])], tmp_path, selectors=["first"])
    assert s["plot"] is None and "matplotlib" in s["plot_note"]
    assert not (tmp_path / "report.png").exists()
    assert "matplotlib" in (tmp_path / "report.txt").read_text()
    # the install hint survives printing: `[bench]` is text, not rich markup
    assert "pip install 'agentforge[bench]'" in " ".join((tmp_path / "report.txt").read_text().split())


def test_print_report_fits_narrow_terminals():
    s = summarize(random_outcomes(6, 4))
    buf = StringIO()
    print_report(s, Console(file=buf, width=80, color_system=None))
    out = buf.getvalue()
    assert max(len(line) for line in out.splitlines()) <= 80
    for name in SELECTORS:  # every selector shows up in some table, none cut off
        assert name in out
    assert "…" not in out


def test_plot_and_vs_k_table_use_the_overall_row_when_an_aggregate_names_one():
    from agentforge.harnesses.metrics import main_row

    def groups(by_cat):  # like BFCL's: sub-summaries first, "overall" last
        return {"group": min(by_cat.values()), "overall": max(by_cat.values())}

    s = summarize([outcome("a", [True], "A"), outcome("b", [False], "B")], selectors=["first"], aggregate=groups)
    name, row = main_row(s)
    assert name == "overall" and row["pass@1"] == 1.0
    buf = StringIO()
    print_report(s, Console(file=buf, width=120, color_system=None))
    assert "overall: accuracy % vs k" in " ".join(buf.getvalue().split())  # titles wrap over narrow tables
