"""`agent train synth swe-traj`: bad input fails fast with a message that says what to give."""

from __future__ import annotations

from typer.testing import CliRunner

from agentforge.cli import app


def run(*args: str):
    return CliRunner().invoke(app, ["train", "synth", "swe-traj", *args, "--no-progress"], env={"COLUMNS": "300"})


def test_nothing_to_build_from_is_a_usage_error(tmp_path):
    result = run("--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "give --instances" in result.output


def test_a_missing_file_or_run_directory_says_what_to_give(tmp_path):
    result = run("--instances", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "no git mirrors at" in result.output
    (tmp_path / "repos").mkdir()
    result = run("--instances", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "no instance file at" in result.output
    result = run("--from-run", str(tmp_path / "norun"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "not an `agent bench swebench` run directory" in result.output
    result = run("--instances", str(tmp_path / "none.jsonl"), "--sandbox", "vm", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "--sandbox must be one of" in result.output
