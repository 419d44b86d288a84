"""Scripted and distilled coding trajectories, end to end in bwrap: the real agent loop, the real
SWE-bench grading, the records; and the format report on the same run directories.

The instance is a tiny repository built here in the shape `agent train synth swe` writes (the same
row maker and eval script), so the whole path runs in seconds without PyPI. The distilled run uses the
scripted test double (tests/fakes) as the model: no real model can be made to produce known
format errors and a known fix.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentforge.harnesses.runner import request_seed
from agentforge.harnesses.swebench.bench import SweConfig, run_swebench
from agentforge.runtime.coding.actions import SUBMIT_SENTINEL
from agentforge.runtime.coding.prompts import TEXT_SYSTEM
from agentforge.training.synth.swe.distill import distill_run
from agentforge.training.synth.swe.format_report import coding_format_report
from agentforge.training.synth.swe.instance import make_row
from agentforge.training.synth.swe.trajectory_set import build_trajectory_set

from tests.fakes.scripted_backend import ScriptedBackend
from tests.harnesses.swebench.tiny_repo import diff_of, git

pytestmark = pytest.mark.slow

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
ISSUE = "`calc`: add(2, 3) returns -1\n\nFailing tests:\n\n- `tests/test_calc.py::test_add`\n"
TESTS = ("from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
         "def test_mul():\n    assert mul(3, 4) == 12\n")


def synth_like(root: Path, broken_gold: bool = False) -> tuple[Path, Path]:
    """(instances.jsonl, repos/) with one instance in the synthesizer's format."""
    repo = root / "repos" / "pypi__calc"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(CALC)
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "buggy base")
    base = git(repo, "rev-parse", "HEAD").strip()
    fixed = CALC.replace("a - b", "a * 1 + b - 1" if broken_gold else "a + b")
    row = make_row(package="calc", version="1.0", instance="calc-1.0__swap_operator-0001", base_commit=base,
                   setup_commit=base, patch=diff_of(repo, "calc.py", fixed),
                   problem_statement=ISSUE,
                   fail_to_pass=["tests/test_calc.py::test_add"], pass_to_pass=["tests/test_calc.py::test_mul"],
                   test_files=["tests/test_calc.py"], environment={"pip": ["pytest"], "pythonpath": ["."]},
                   mutation={"file": "calc.py", "function": "add", "kind": "swap_operator", "line": 2})
    path = root / "instances.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path, root / "repos"


def test_a_scripted_fix_runs_in_the_sandbox_resolves_and_becomes_a_record(tmp_path):
    instances, repos = synth_like(tmp_path / "data")
    summary = asyncio.run(build_trajectory_set(tmp_path / "out", instances=instances, sandbox="bwrap",
                                               progress=False))
    assert summary["records"] == 1 and summary["packages"] == ["calc"]
    record = json.loads((tmp_path / "out" / "trajectories.jsonl").read_text())
    roles = [m["role"] for m in record["messages"]]
    assert roles[:2] == ["system", "user"] and roles[2:] == ["assistant", "user"] * 4 + ["assistant"]
    assert record["messages"][0]["content"] == TEXT_SYSTEM
    assert "add(2, 3) returns -1" in record["messages"][1]["content"]
    assert record["tools"] == [] and record["meta"]["source"] == "swe-scripted"
    assert record["meta"]["instance_id"] == "calc-1.0__swap_operator-0001" and record["meta"]["tokens"] > 500
    obs = [m["content"] for m in record["messages"][3::2]]
    # real outputs of the commands, as the loop formats them
    assert "1 failed" in obs[0] and "assert -1 == 5" in obs[0]
    assert obs[1].startswith("<returncode>0</returncode>") and "     2\t    return a - b" in obs[1]
    assert "Edited calc.py" in obs[2] and "return a + b" in obs[2]
    assert "2 passed" in obs[3]
    assert record["messages"][-1]["content"].endswith(f"```bash\necho {SUBMIT_SENTINEL}\n```")
    # a second call resumes the run: nothing is played again, the same record comes out
    journal = (tmp_path / "out" / "run" / "journal.jsonl").read_text()
    again = asyncio.run(build_trajectory_set(tmp_path / "out", instances=instances, sandbox="bwrap", progress=False))
    assert again["records"] == 1 and (tmp_path / "out" / "run" / "journal.jsonl").read_text() == journal


def test_a_script_whose_fix_does_not_resolve_is_not_kept(tmp_path):
    instances, _ = synth_like(tmp_path / "data", broken_gold=True)  # the "gold" leaves test_add failing
    summary = asyncio.run(build_trajectory_set(tmp_path / "out", instances=instances, sandbox="bwrap",
                                               progress=False))
    assert summary["records"] == 0
    assert summary["sources"]["swe-scripted"]["dropped"] == {"not resolved": 1}
    # the coder saw the tests still failing after its edit and stopped before submitting
    (line,) = (tmp_path / "out" / "run" / "journal.jsonl").read_text().splitlines()
    assert json.loads(line)["detail"]["agent_status"] == "model_error"
    (trajectory,) = (tmp_path / "out" / "run" / "trajectories").rglob("*.json")
    assert "the tests did not all pass after the fix" in json.loads(trajectory.read_text())["error"]


def test_a_bench_run_distills_to_its_resolved_submitted_trajectories_without_format_errors(tmp_path):
    instances, repos = synth_like(tmp_path / "data")
    config = SweConfig(instances=str(instances), repos=str(repos), sandbox="bwrap", model="scripted", n=2,
                       concurrency=1, max_steps=6, top_logprobs=0, selectors=["first"])
    backend = ScriptedBackend(lambda messages, tools, index: ("", []))
    first_sample = request_seed(config.seed, "calc-1.0__swap_operator-0001", 0)

    def reply(messages, tools, index):
        sample = 0 if backend.requests[-1][1].seed == first_sample else 1
        turn = sum(m.role == "assistant" for m in messages)
        if sample == 1 or turn >= 2:
            return f"THOUGHT: done.\n\n```bash\necho {SUBMIT_SENTINEL}\n```", []
        if turn == 0:
            return "I think the bug is in calc.py.", []  # no bash block: a format error
        return "THOUGHT: fix the operator.\n\n```bash\nsed -i 's/a - b/a + b/' calc.py\n```", []

    backend.reply = reply
    _, summary = asyncio.run(run_swebench(config, tmp_path / "run", backend=backend, progress=False))
    assert summary["graded_candidates"] == 2

    records, stats = distill_run(tmp_path / "run")
    assert stats.candidates == 2 and stats.kept == 1 and stats.dropped == {"not resolved": 1}
    assert stats.format_error_turns == 1
    (record,) = records
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert "sed -i" in record["messages"][2]["content"] and record["meta"]["source"] == "swe-distilled"
    assert record["messages"][3]["content"].startswith("<returncode>0</returncode>")

    report = coding_format_report(tmp_path / "run")
    # sample 0: format error, sed, submit; sample 1: submit
    assert (report["turns"], report["format_errors"], report["resolved"], report["graded"]) == (4, 1, 1, 2)
    assert report["format_error_share"] == 0.25 and report["submitted"] == 2

    with pytest.raises(FileNotFoundError, match="agent bench swebench"):
        distill_run(tmp_path / "nowhere")
