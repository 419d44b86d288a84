"""A τ-bench run killed (SIGKILL) in the middle resumes to the same result, nothing lost or counted twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harnesses.taubench.resume_target import TASKS, TRIALS

REPO = Path(__file__).resolve().parents[3]
TARGET = Path(__file__).with_name("resume_target.py")


def _journal_lines(run_dir: Path) -> int:
    path = run_dir / "journal.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_run_resumes_without_losing_or_double_counting(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    proc = subprocess.Popen([sys.executable, str(TARGET), str(run_dir)], env=env, cwd=REPO)
    deadline = time.monotonic() + 300
    while _journal_lines(run_dir) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _journal_lines(run_dir)
    assert 3 <= killed_at < TASKS * TRIALS

    done = subprocess.run([sys.executable, str(TARGET), str(run_dir)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(x) for x in (run_dir / "journal.jsonl").read_text().splitlines() if x.strip()]
    keys = [(r["task_id"], r["sample"]) for r in lines]
    assert len(keys) == len(set(keys)) == TASKS * TRIALS  # every simulation once: none re-run, none lost
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["simulations"] == TASKS * TRIALS and summary["avg_reward"] == {"retail": 1.0}
    results = json.loads((run_dir / "results" / "retail.json").read_text())
    assert sorted((s["task_id"], s["trial"]) for s in results["simulations"]) == sorted(
        (t.split("/", 1)[1], s) for t, s in keys)
    assert results["info"]["num_trials"] == TRIALS
