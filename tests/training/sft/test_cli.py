"""`agent train sft`: bad input ends with a red message that says what to do, not a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentforge.cli import app


def test_missing_data_file_is_an_error(tmp_path):
    result = CliRunner().invoke(app, ["train", "sft", "--data", str(tmp_path / "nope.jsonl"), "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "nope.jsonl: no such file" in result.output


@pytest.mark.model
def test_invalid_records_name_file_and_line(tmp_path, tiny_model_dir):
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n"
                    + json.dumps({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f",
                                  "arguments": {"x": 1}}}]}]}) + "\n")
    result = CliRunner().invoke(app, ["train", "sft", "--data", str(data), "--out", str(tmp_path / "run"),
                                      "--model", str(tiny_model_dir)])
    assert result.exit_code == 1, result.output
    assert f"{data}:2: messages[0]: tool_calls.0.function.arguments" in result.output.replace("\n", "")
    assert "Traceback" not in result.output
