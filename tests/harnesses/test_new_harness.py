"""Adding a harness is one folder + one registration: tests/harnesses/toy holds a
Harness and its options, the test registers it, and `agent bench toy` then runs,
resumes, grows N, reports pass@k / pass^k and re-scores with `agent bench
report`, all through the shared code (the toy needs no model)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from agentforge.cli import app
from agentforge.cli.bench import harness_command
from agentforge.harnesses import registry
from agentforge.harnesses.journal import Journal


@pytest.fixture
def toy_cli(monkeypatch):
    monkeypatch.setitem(registry.HARNESSES, "toy", registry.Registration("tests.harnesses.toy.bench:HARNESS",
                                                                         "tests.harnesses.toy.options:options"))
    toy_app = typer.Typer()
    toy_app.command("toy")(harness_command("toy"))  # what cli/bench.py does for every registered harness
    toy_app.command("other")(lambda: None)  # two commands: typer then keeps the command name

    def invoke(*args: str):
        return CliRunner().invoke(toy_app, ["toy", *args], env={"COLUMNS": "120"})
    return invoke


def test_a_registered_harness_gets_its_options_and_wide(toy_cli):
    result = toy_cli("--help")
    assert result.exit_code == 0, result.output
    for option in ("--tasks", "--n", "--run-dir", "--wide", "Run the toy benchmark."):
        assert option in result.output


def test_a_registered_harness_runs_resumes_grows_and_rescores(toy_cli, tmp_path):
    run = tmp_path / "run"
    first = toy_cli("--n", "3", "--run-dir", str(run))
    assert first.exit_code == 0, first.output
    summary = json.loads((run / "summary.json").read_text())
    row = summary["aggregate"]["overall"]
    # c per task (n = 3): 3, 2, 1, 2, 3, 2, 1, 2 (see toy/bench.py)
    assert row["pass@1"] == pytest.approx(16 / 24)
    assert row["pass^k"] == pytest.approx({"1": 16 / 24, "2": (2 * 1 + 4 / 3) / 8, "3": 2 / 8})
    assert row["pass@k"]["3"] == 1.0
    assert "pass^k" in first.output and "odd" in first.output and "even" in first.output
    assert (run / "config.json").exists() and json.loads((run / "config.json").read_text())["harness"] == "toy"

    again = toy_cli("--n", "3", "--run-dir", str(run))  # resumes: nothing new, nothing counted twice
    assert again.exit_code == 0, again.output
    assert len(Journal(run / "journal.jsonl").load()) == 24
    assert json.loads((run / "summary.json").read_text()) == summary

    grown = toy_cli("--n", "4", "--run-dir", str(run))  # raising N adds one candidate per task
    assert grown.exit_code == 0, grown.output
    assert len(Journal(run / "journal.jsonl").load()) == 32
    assert json.loads((run / "summary.json").read_text())["n"] == 4

    grown_summary = (run / "summary.json").read_text()
    (run / "summary.json").unlink()
    report = CliRunner().invoke(app, ["bench", "report", str(run)], env={"COLUMNS": "120"})
    assert report.exit_code == 0, report.output
    assert (run / "summary.json").read_text() == grown_summary


def test_bad_settings_and_a_mismatched_run_dir_are_clear_errors(toy_cli, tmp_path):
    bad = toy_cli("--tasks", "0", "--run-dir", str(tmp_path / "bad"))
    assert bad.exit_code == 1 and "--tasks must be at least 1" in bad.output
    assert not (tmp_path / "bad").exists()  # checked before anything is written
    assert toy_cli("--run-dir", str(tmp_path / "run")).exit_code == 0
    mixed = toy_cli("--tasks", "5", "--run-dir", str(tmp_path / "run"))
    assert mixed.exit_code == 1 and "tasks" in mixed.output


def test_unknown_harness_names_the_known_ones():
    with pytest.raises(ValueError, match="known: bfcl, swebench"):
        registry.get_harness("nope")


@pytest.mark.parametrize("args, message", [(["--mode", "xx"], "--mode must be fc or prompt, not 'xx'"),
                                           (["--tool-choice", "none"], "--tool-choice must be auto or required, "
                                                                       "not 'none'"),
                                           (["-c", "nosuch"], "unknown BFCL category 'nosuch'")])
def test_bfcl_bad_options_fail_whole_before_any_model_or_file(args, message, tmp_path):
    result = CliRunner().invoke(app, ["bench", "bfcl", *args, "--run-dir", str(tmp_path / "run")],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "run").exists()
