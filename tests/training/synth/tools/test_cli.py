"""`agent train synth tools` and `agent train synth check` end to end, on a small n."""

import json

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.training.synth.tools.records import validate_record

runner = CliRunner()


def _said(result):
    return " ".join(result.output.split())  # rich wraps long lines


def test_tools_writes_valid_records_and_a_report(tmp_path):
    out = tmp_path / "data" / "tools.jsonl"
    result = runner.invoke(app, ["train", "synth", "tools", "--n", "60", "--out", str(out), "--seed", "3",
                                 "--token-sample", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 60 and all(validate_record(r) == [] for r in records)
    report = json.loads((tmp_path / "data" / "tools.report.json").read_text())
    assert report["summary"]["records"] == 60 and report["contamination"]["kept"] == 60
    contamination = json.loads((tmp_path / "data" / "tools.contamination.json").read_text())
    assert contamination["dropped_function_name"] == 0 and contamination["bfcl"]["function_names"] > 1500
    assert "BFCL v3 contamination" in _said(result) and "shapes:" in _said(result)
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]  # the temp file was renamed
    again = tmp_path / "again.jsonl"
    runner.invoke(app, ["train", "synth", "tools", "--n", "60", "--out", str(again), "--seed", "3",
                        "--token-sample", "0", "--no-progress"])
    assert again.read_text() == out.read_text()

    checked = runner.invoke(app, ["train", "synth", "check", str(out)])
    assert checked.exit_code == 0 and "60 records, 0 with problems" in _said(checked)


def test_mix_weights_shape_the_output(tmp_path):
    out = tmp_path / "t.jsonl"
    result = runner.invoke(app, ["train", "synth", "tools", "--n", "20", "--out", str(out), "--mix",
                                 "parallel=1,irrelevant=1", "--token-sample", "0", "--no-progress",
                                 "--no-contamination-check"])
    assert result.exit_code == 0, result.output
    shapes = [json.loads(line)["meta"]["shape"] for line in out.read_text().splitlines()]
    assert sorted(set(shapes)) == ["irrelevant", "parallel"] and shapes.count("parallel") == 10


def test_bad_mix_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train", "synth", "tools", "--out", str(tmp_path / "x.jsonl"), "--mix", "simpel=1"])
    assert result.exit_code == 2 and "SHAPE=WEIGHT" in _said(result)


def test_the_multi_turn_shape_comes_from_the_episodes(tmp_path):
    out = tmp_path / "x.jsonl"
    result = runner.invoke(app, ["train", "synth", "tools", "--n", "5", "--out", str(out),
                                 "--mix", "multi_turn=1", "--no-contamination-check", "--token-sample", "0"])
    assert result.exit_code == 0, _said(result)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and {r["meta"]["shape"] for r in records} == {"multi_turn"}
    assert any(m["role"] == "tool" for r in records for m in r["messages"])  # tools that really ran


def test_check_reports_bad_records_and_bfcl_overlap(tmp_path):
    from agentforge.harnesses.bfcl.data import load_entries

    question = load_entries("simple")[10]["question"][0][0]["content"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        "not json",
        json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        json.dumps({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": "ok"}]}),
        json.dumps({"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "Hi!"}]}),
    ]) + "\n")
    clean = tmp_path / "clean.jsonl"
    result = runner.invoke(app, ["train", "synth", "check", str(bad), "--clean", str(clean)])
    assert result.exit_code == 1
    assert "4 records, 3 with problems" in _said(result) and "overlaps BFCL" in _said(result)
    assert [json.loads(line)["messages"][0]["content"] for line in clean.read_text().splitlines()] == ["hello"]
