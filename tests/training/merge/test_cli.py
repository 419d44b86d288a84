"""`agent train merge` through the CLI: options, a mergekit YAML, and errors as one red line."""

from __future__ import annotations

import torch
from typer.testing import CliRunner

from agentforge.cli import app
from tests.training.merge.conftest import load


def invoke(*args):
    return CliRunner().invoke(app, ["train", "merge", *map(str, args)])


def test_ties_from_options(tiny, tmp_path):
    out = tmp_path / "out"
    result = invoke("--method", "ties", "--base", tiny["base"], "-m", tiny["a"], "-m", tiny["b"],
                    "--density", "0.5", "-o", out)
    assert result.exit_code == 0, result.output
    assert "merged (ties)" in result.output and f"embedded:{out}" in result.output
    torch.testing.assert_close(load(out)["model.norm.weight"], torch.tensor([-2.0, 3.0, -0.5, 1.0]))


def test_a_mergekit_yaml_gives_what_the_same_options_give(tiny, tmp_path):
    config = tmp_path / "merge.yaml"
    config.write_text(f"""merge_method: sce
base_model: {tiny['base']}
models:
  - model: {tiny['a']}
  - model: {tiny['b']}
parameters:
  select_topk: 0.5
dtype: float32
""")
    from_yaml, from_options = tmp_path / "yaml", tmp_path / "options"
    result = invoke("--config", config, "-o", from_yaml)
    assert result.exit_code == 0, result.output
    result = invoke("--method", "sce", "--base", tiny["base"], "-m", tiny["a"], "-m", tiny["b"],
                    "--select-topk", "0.5", "-o", from_options)
    assert result.exit_code == 0, result.output
    a, b = load(from_yaml), load(from_options)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert (from_yaml / "tokenizer.json").is_file()


def test_a_yaml_with_relative_model_paths_is_refused(tiny, tmp_path):
    config = tmp_path / "merge.yaml"
    config.write_text("merge_method: sce\nbase_model: base\nmodels:\n  - model: a\n")
    result = invoke("--config", config, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "is relative; give local checkpoints as absolute paths" in result.output


def test_errors_are_one_line_and_exit_1(tiny, tmp_path):
    result = invoke("--method", "sce", "--base", tiny["base"], "-m", tiny["a"], "--weight", "2", "-o", tmp_path / "o")
    assert result.exit_code == 1 and "--weight does not apply to sce" in result.output
    result = invoke("--method", "sce", "--base", tiny["base"], "-m", tmp_path / "missing", "-o", tmp_path / "o")
    assert result.exit_code == 1 and "no such checkpoint folder" in result.output
    assert "Traceback" not in result.output
