"""`agent bench bfcl` / `swebench` / `report` keep every option users had before
the commands were built from the harness registry (listed from main at 046cbb7:
names, defaults, required), plus --wide; and their help still shows them."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from agentforge.cli import app

WIDE = [["--no-wide", "--wide"], "False", False]
BEFORE = {
    "bfcl": [
        [["--model", "-m"], "embedded", False], [["--mode"], "fc", False], [["--decoder"], "official", False],
        [["--tool-choice"], "auto", False], [["--categories", "-c"], None, False], [["--n", "-n"], "1", False],
        [["--limit"], None, False], [["--seed"], "0", False], [["--temperature"], "0.7", False],
        [["--top-p"], "0.95", False], [["--max-tokens"], "512", False], [["--top-logprobs"], "20", False],
        [["--constrained", "--no-constrained"], "True", False], [["--concurrency"], "8", False],
        [["--task-timeout"], "900.0", False], [["--retries"], "3", False],
        [["--no-retry-errors", "--retry-errors"], "False", False], [["--run-dir"], None, False],
        [["--slots"], "16", False]],
    "swebench": [
        [["--instances", "-i"], None, True], [["--source"], "agent", False], [["--predictions"], None, False],
        [["--model", "-m"], "embedded", False], [["--sandbox"], "auto", False], [["--repos"], None, False],
        [["--repo-url"], None, False], [["--id"], None, False], [["--limit"], None, False],
        [["--n", "-n"], "1", False], [["--seed"], "0", False], [["--temperature"], "0.7", False],
        [["--top-p"], "0.95", False], [["--max-tokens"], "1024", False], [["--max-steps"], "200", False],
        [["--format"], "text", False], [["--concurrency"], "2", False], [["--eval-timeout"], "1800.0", False],
        [["--no-retry-errors", "--retry-errors"], "False", False], [["--run-dir"], "runs/swebench", False]],
    "report": [[["run_dir"], None, True]],
}


def options_of(name: str) -> list:
    command = typer.main.get_command(app).commands["bench"].commands[name]
    return [[sorted(p.opts + p.secondary_opts), None if p.default is None else str(p.default), p.required]
            for p in command.params]


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_bench_commands_keep_their_options_and_add_wide(name):
    assert options_of(name) == BEFORE[name] + [WIDE]


@pytest.mark.parametrize("name, first_line", [("bfcl", "Run BFCL v3 (resumable), then print and save the report."),
                                              ("swebench", "Run SWE-bench (resumable): patches from the agent")])
def test_bench_help_lists_them(name, first_line):
    result = CliRunner().invoke(app, ["bench", name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert first_line in result.output
    for option, _, _ in BEFORE[name]:
        assert option[0] in result.output
