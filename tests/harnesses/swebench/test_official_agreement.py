"""Our log parsers and grading give the official swebench verdict on the same raw logs.

The official package runs in its own venv (see official.py) on the very log
text we parse: its `get_logs_eval` (marker checks, the test-output slice, the
parser, the fallback to the whole log, the suite-ran and exit-code checks) and
its `get_eval_report`. Nothing of ours is handed to it.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from agentforge.harnesses.swebench.grading import grade_log, parse_instance_log
from tests.shared_data import shared_data

from .log_variants import PARSERS, make_cases, make_row_cases
from .official import official_python

OFFICIAL = r"""
import json, sys, tempfile, os
from swebench.harness.grading import get_eval_report, get_logs_eval
from swebench.harness.utils import make_test_spec

out = []
with tempfile.TemporaryDirectory() as tmp:
    for i, case in enumerate(json.load(open(sys.argv[1]))):
        path = os.path.join(tmp, f"{i}.log")
        with open(path, "w") as f:
            f.write(case["log"])
        spec = make_test_spec(case["row"])
        try:
            status_map, found = get_logs_eval(spec, path)
            pred = {"instance_id": spec.instance_id, "model_name_or_path": "m", "model_patch": "diff"}
            report = get_eval_report(spec, pred, path, include_tests_status=True)[spec.instance_id]
        except Exception as e:
            out.append({"raised": f"{type(e).__name__}: {e}"})
            continue
        out.append({"found": found, "status_map": status_map, "report": report})
json.dump(out, open(sys.argv[2], "w"))
"""
COUNT = 600  # 30 per parser


def official_verdicts(cases: list[dict], tmp_path) -> list[dict]:
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run([official_python(), "-c", OFFICIAL, str(tmp_path / "cases.json"),
                           str(tmp_path / "official.json")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp_path / "official.json").read_text())


def our_verdict(case: dict) -> dict:
    row, log = case["row"], case["log"]
    grade = grade_log(log, row)
    report = grade.official_report(row["instance_id"], "diff")[row["instance_id"]]
    status_map = {k: str(getattr(v, "value", v)) for k, v in parse_instance_log(log, row).items()} \
        if grade.patch_applied else {}
    return {"found": grade.patch_applied, "status_map": status_map, "report": report}


def differences(ours: dict, theirs: dict) -> list[str]:
    if "raised" in theirs:
        return [f"official raised {theirs['raised']}"]
    out = []
    if ours["found"] != theirs["found"]:
        out.append(f"graded: ours {ours['found']}, official {theirs['found']}")
    elif ours["found"] and ours["status_map"] != theirs["status_map"]:
        out.append(f"status map: ours {ours['status_map']}, official {theirs['status_map']}")
    for key in ("resolved", "patch_successfully_applied", "tests_status"):
        if ours["report"].get(key) != theirs["report"].get(key):
            out.append(f"{key}: ours {ours['report'].get(key)}, official {theirs['report'].get(key)}")
    return out


def disagreements(cases: list[dict], theirs: list[dict]) -> list[tuple[str, str, list[str]]]:
    assert len(theirs) == len(cases)
    out = []
    for case, official in zip(cases, theirs):
        problems = differences(our_verdict(case), official)
        if problems:
            out.append((case["row"]["log_parser"], case["row"]["instance_id"], problems))
    return out


def shown(found: list, total: int) -> str:
    return f"{len(found)} of {total} differ; first: " + "\n".join(f"{p} {i}: {'; '.join(d)}" for p, i, d in found[:8])


@pytest.mark.slow
def test_parsers_and_grading_agree_with_official_swebench_on_generated_logs(tmp_path):
    cases = make_cases(COUNT)
    theirs = official_verdicts(cases, tmp_path)
    found = disagreements(cases, theirs)
    # The cases must exercise both verdicts and every parser, or agreement would prove little.
    resolved = Counter(o["report"]["resolved"] for o in theirs if "raised" not in o)
    graded = Counter(o["found"] for o in theirs if "raised" not in o)
    assert min(resolved.values()) >= 40 and min(graded.values()) >= 60 and len(resolved) == len(graded) == 2
    assert {c["row"]["log_parser"] for c in cases} == set(PARSERS)
    assert not found, shown(found, len(cases))


@pytest.mark.slow
def test_grading_agrees_with_official_swebench_on_every_verified_row(tmp_path):
    """The real rows' own test ids (Django docstrings, sympy names, ids cut at a space) in generated logs."""
    rows = [json.loads(line) for line in shared_data("swebench_verified.jsonl").read_text().splitlines() if line]
    cases = make_row_cases(rows)
    theirs = official_verdicts(cases, tmp_path)
    found = disagreements(cases, theirs)
    resolved = Counter(o["report"]["resolved"] for o in theirs if "raised" not in o)
    assert len(rows) == 500 and resolved[True] >= 100 and resolved[False] >= 100, resolved
    assert not found, shown(found, len(cases))
