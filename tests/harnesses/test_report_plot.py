"""report.png shows every series and does not magnify noise: coinciding series
are one line labelled with all their names, the rest get their own markers and a
small sideways nudge, and the y axis runs from 0 with the sampling error as a band."""

import math

import pytest

from agentforge.harnesses.report_plot import plot_report, plot_spec


def summary(series: dict[str, list[float]], pass_k: list[float], tasks: int = 125, ks=(1, 2, 4)) -> dict:
    """A summary with one aggregate row; values in percent for readability."""
    ks = list(ks)
    row = {"tasks": tasks, "pass@1": pass_k[0] / 100, "pass@N": pass_k[-1] / 100,
           "pass@k": {str(k): v / 100 for k, v in zip(ks, pass_k)},
           "selected@k": {s: {str(k): v / 100 for k, v in zip(ks, ys)} for s, ys in series.items()}}
    return {"title": "t", "n": ks[-1], "ks": ks, "selectors": list(series), "tasks": tasks,
            "categories": {}, "aggregate": {"overall": row}}


def test_coinciding_series_become_one_line_labelled_with_every_name():
    s = summary({"first": [20.0, 20.0, 20.0], "vote": [20.0, 20.4, 20.8], "confidence": [20.0, 20.4, 20.8],
                 "tail": [20.0, 20.41, 20.79], "avg_logprob": [20.0, 20.2, 20.0], "oracle": [20.0, 30.0, 40.0]},
                pass_k=[20.0, 30.0, 40.0])
    spec = plot_spec(s)
    names = [line.names for line in spec.lines]
    # every selector is drawn exactly once (oracle as the pass@k line it estimates)
    drawn = [n for line in names for n in line]
    for sel in s["selectors"]:
        assert drawn.count(sel) == 1, sel
    by_name = {n: line for line in spec.lines for n in line.names}
    assert by_name["vote"] is by_name["confidence"] is by_name["tail"]  # equal to the table's 0.1 point
    assert by_name["vote"].label == "vote = confidence = tail"
    assert by_name["first"] is by_name["pass@1"] and by_name["first"].kind == "pass@1"
    assert by_name["oracle"] is by_name["pass@k"]
    assert by_name["avg_logprob"] is not by_name["vote"]


def test_distinct_selector_lines_get_their_own_marker_and_are_nudged_apart():
    s = summary({"a": [20.0, 21.0, 22.0], "b": [20.0, 21.2, 22.1], "c": [20.0, 20.5, 20.6]}, pass_k=[20, 30, 40])
    spec = plot_spec(s)
    selectors = [line for line in spec.lines if line.kind == "selector"]
    assert len(selectors) == 3
    assert len({line.marker for line in selectors}) == 3 and "s" not in {line.marker for line in selectors}
    xs_at_k2 = [line.xs[1] for line in selectors]
    assert len(set(xs_at_k2)) == 3 and all(abs(x / 2 - 1) < 0.1 for x in xs_at_k2)  # apart, yet near k = 2
    assert any("nudged" in note for note in spec.notes)


def test_a_small_wobble_does_not_fill_the_plot():
    # the case: selectors spanning 20.0-20.8% over 125 entries
    s = summary({"vote": [20.0, 20.4, 20.8], "confidence": [20.0, 20.1, 20.3]}, pass_k=[20.0, 20.6, 20.8])
    spec = plot_spec(s)
    assert spec.y_top >= 30  # the axis starts at 0 and leaves room over the band
    spread = 20.8 - 20.0
    assert spread / spec.y_top < 0.05  # the 0.8 points are a small step, not the plot's height
    se = 100 * math.sqrt(0.2 * 0.8 / 125)
    assert spec.band == pytest.approx((20.0 - 2 * se, 20.0 + 2 * se))
    assert spec.band[1] - spec.band[0] > spread  # and the band shows it is inside the noise
    assert "125 tasks" in spec.band_label


def test_y_axis_reaches_over_the_highest_point_and_stops_at_100():
    spec = plot_spec(summary({"vote": [90.0, 95.0, 99.0]}, pass_k=[90.0, 97.0, 100.0], tasks=10))
    assert spec.y_top == 100.0 and spec.band[1] <= 100.0


def test_plot_file_is_drawn(tmp_path):
    pytest.importorskip("matplotlib")
    s = summary({"vote": [20.0, 20.4, 20.8], "confidence": [20.0, 20.4, 20.8]}, pass_k=[20.0, 25.0, 28.0])
    assert plot_report(s, tmp_path / "report.png") is None
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
