"""Kill-and-resume of a real `agent bench aider` process, and Aider's metrics on hand-made records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentforge.harnesses.aider.aider_metrics import aider_summary
from agentforge.harnesses.journal import SampleResult
from tests.harnesses.aider.conftest import exercise, require_toolchain

SRC = str(Path(__file__).resolve().parents[3] / "src")


def bench(run_dir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "agentforge.cli", "bench", "aider", "--source", "reference", "--languages",
               "python", "--limit", "4", "--concurrency", "1", "--run-dir", str(run_dir)]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_or_double_counting(tmp_path):
    require_toolchain("python")
    exercise("python", "bowling")
    run_dir = tmp_path / "run"
    journal = run_dir / "journal.jsonl"
    first = bench(run_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count("\n") < 1):
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_before = journal.read_text().count("\n")
    assert 1 <= done_before < 4, "the kill came too late to test a resume"
    second = bench(run_dir)
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    assert f"{done_before} resumed from the journal" in output
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    keys = [(r["task_id"], r["sample"]) for r in lines]
    assert len(keys) == len(set(keys)) == 4  # every exercise once: none lost, none run twice
    assert all(r["correct"] for r in lines)
    results = sorted(run_dir.glob("polyglot/sample-0/python/exercises/practice/*/.aider.results.json"))
    assert len(results) == 4 and all(json.loads(p.read_text())["tests_outcomes"] == [True] for p in results)
    summary = json.loads((run_dir / "summary.json").read_text())["aider"]
    assert summary["overall"]["completed_tests"] == 4 and summary["overall"]["pass_rate_1"] == 100.0
    assert summary["data"].startswith("Aider-AI/polyglot-benchmark 7e0611e")
    table = (run_dir / "polyglot" / "report.txt").read_text()
    assert "7e0611e" in table and any(line.split()[:4] == ["overall", "4", "100.0", "100.0"]
                                      for line in table.splitlines())


def record(task: str, outcomes: list[bool], malformed: int = 0, exception: bool = False) -> SampleResult:
    results = {"tests_outcomes": outcomes, "num_malformed_responses": malformed, "duration": 10.0}
    if exception:
        results = {"exception": "boom", "tests_outcomes": []}
    return SampleResult(task_id=task, sample=0, category=task.split("/")[0], correct=bool(outcomes and outcomes[-1]),
                        detail={"results": results})


def test_aider_metrics_pass_rates_and_well_formed_per_language_and_overall():
    records = {"python/a": [record("python/a", [True])], "python/b": [record("python/b", [False, True], 1)],
               "go/c": [record("go/c", [False, False])], "go/d": [record("go/d", [], exception=True)]}
    summary = aider_summary(records)["aider"]
    overall = summary["overall"]
    assert overall["completed_tests"] == 4  # an exception is completed and failed, as in Aider
    assert (overall["pass_num_1"], overall["pass_num_2"]) == (1, 2)
    assert (overall["pass_rate_1"], overall["pass_rate_2"]) == (25.0, 50.0)
    assert overall["percent_cases_well_formed"] == 75.0 and overall["exceptions"] == 1
    assert summary["languages"]["python"]["pass_rate_2"] == 100.0
    assert summary["languages"]["go"]["pass_rate_2"] == 0.0


def test_bad_settings_are_refused_with_what_to_do():
    from agentforge.harnesses.aider.bench import AiderConfig, check_config

    cases = [(dict(languages=["cobol"]), "choose from cpp"), (dict(edit_format="udiff"), "whole, diff"),
             (dict(source="gold"), "model, reference, stub"), (dict(source="reference", n=2), "use -n 1"),
             (dict(n=4), "--temperature"), (dict(source="stub", agentic=True), "--source model"),
             (dict(tries=0), "at least 1")]
    for settings, message in cases:
        with pytest.raises(ValueError, match=message):
            check_config(AiderConfig(**settings))
