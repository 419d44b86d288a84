"""Moving BFCL and SWE-bench onto the shared harness contract kept their results:
a run directory re-scores to exactly the files the code before the move wrote.

The fixtures under fixtures/rescore/<harness>/run are cut from real runs (BFCL:
2 entries of each of 5 categories, N=4, from an SFT model's eval; SWE-bench: 3
instances of a scripted-gold run). by_old_code/ holds what `agent bench report`
of main at 046cbb7 (before the contract) wrote for them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentforge.harnesses.run import rescore

FIXTURES = Path(__file__).parent / "fixtures" / "rescore"


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _rescored(harness: str, tmp_path: Path) -> Path:
    run_dir = tmp_path / harness
    shutil.copytree(FIXTURES / harness / "run", run_dir)
    rescore(run_dir)
    return run_dir


def _same_summary(run_dir: Path, expected: Path) -> None:
    got, want = (run_dir / "summary.json").read_text(), (expected / "summary.json").read_text()
    if _has_matplotlib():
        assert got == want  # byte-identical
    else:  # without matplotlib there is no plot: only the plot keys may differ
        drop = ("plot", "plot_note")
        assert ({k: v for k, v in json.loads(got).items() if k not in drop}
                == {k: v for k, v in json.loads(want).items() if k not in drop})


@pytest.mark.parametrize("harness", ["bfcl", "swebench"])
def test_a_run_dir_rescores_to_the_summary_the_old_code_wrote(harness, tmp_path):
    run_dir = _rescored(harness, tmp_path)
    _same_summary(run_dir, FIXTURES / harness / "by_old_code")
    assert (run_dir / "report.txt").read_text().strip()


def test_swebench_rescore_rewrites_the_same_official_predictions(tmp_path):
    run_dir = _rescored("swebench", tmp_path)
    old = FIXTURES / "swebench" / "by_old_code"
    for name in ("predictions.jsonl", "predictions/sample-0.jsonl"):
        assert (run_dir / name).read_bytes() == (old / name).read_bytes(), name
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["model_patch"].startswith("diff --git") for r in rows)


def test_the_bfcl_fixture_is_not_trivial():
    """The comparison means something only if selectors and categories disagree somewhere."""
    summary = json.loads((FIXTURES / "bfcl" / "by_old_code" / "summary.json").read_text())
    assert summary["n"] == 4 and summary["tasks"] == 10 and len(summary["categories"]) == 5
    row = summary["aggregate"]["mean of categories run"]
    assert 0 < row["pass@1"] < row["pass@N"] < 1
    assert len({round(v["4"], 6) for v in row["selected@k"].values()}) > 2
