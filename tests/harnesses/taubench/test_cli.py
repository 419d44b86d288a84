"""`agent bench taubench` is registered, and bad settings fail before any work, saying what to do."""

from __future__ import annotations

from typer.testing import CliRunner

from agentforge.cli import app


def test_taubench_is_a_bench_command():
    result = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "taubench" in result.output


def test_a_run_without_a_user_model_says_what_to_pass(tmp_path):
    result = CliRunner().invoke(app, ["bench", "taubench", "-d", "retail", "--run-dir", str(tmp_path / "r")],
                                env={"COLUMNS": "200"})
    assert result.exit_code != 0 and "--user-model" in result.output
    assert not (tmp_path / "r").exists()  # nothing was written


def test_an_unknown_domain_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["bench", "taubench", "-d", "banking", "--user-model", "embedded",
                                      "--run-dir", str(tmp_path / "r")], env={"COLUMNS": "200"})
    assert result.exit_code != 0 and "unknown τ-bench domain 'banking'" in result.output
