"""A run directory's config.json that cannot be read: the error names the file
and says what to do (never "Expecting value" or a traceback), and nothing in the
directory is changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.harnesses.rundir import RunDirError, check_run_dir, harness_of

BROKEN = {
    "cut short": '{"model": "embedded", "mode": ',
    "empty": "",
    "a list": '["embedded", "fc"]',
    "a string": '"embedded"',
}


@dataclass
class Settings:
    model: str = "embedded"
    temperature: float = 0.7


@pytest.fixture(params=sorted(BROKEN))
def broken_run(request, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(BROKEN[request.param])
    (run / "journal.jsonl").write_text('{"task_id": "t1"}\n')
    return run, request.param


def test_bench_report_names_the_broken_file_and_the_way_out(broken_run):
    run, kind = broken_run
    result = CliRunner().invoke(app, ["bench", "report", str(run)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert f"error: {run / 'config.json'} " in result.output
    expected = "is not valid JSON" if kind in ("cut short", "empty") else "not the run's settings (a JSON object)"
    assert expected in result.output
    assert "delete the file and run the same command to resume" in result.output and "--run-dir" in result.output


def test_a_resume_refuses_a_broken_config_and_keeps_it(broken_run):
    run, kind = broken_run
    before = (run / "config.json").read_text()
    with pytest.raises(RunDirError, match="config.json") as caught:
        check_run_dir(run, Settings(), ["model", "temperature"], "bfcl")
    assert str(run / "config.json") in str(caught.value) and "another --run-dir" in str(caught.value)
    assert (run / "config.json").read_text() == before  # nothing lost: the file is left for the user


def test_a_valid_config_still_works(tmp_path):
    check_run_dir(tmp_path, Settings(), ["model", "temperature"], "swebench")
    assert harness_of(tmp_path) == "swebench"
    assert json.loads((tmp_path / "config.json").read_text())["temperature"] == 0.7
    check_run_dir(tmp_path, Settings(), ["model", "temperature"], "swebench")  # a resume with the same settings


def test_routing_names_a_broken_config(broken_run, tmp_path):
    from agentforge.routing import RoutingError
    from agentforge.harnesses.routing_examples import load_examples

    run, _ = broken_run
    with pytest.raises(RoutingError, match="config.json"):
        load_examples({"a": run, "b": run})
