"""`agent train rl`: clear errors, and a run that resumes without repeating or losing an update."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentforge.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["train", "rl", *map(str, args)], env={"COLUMNS": "200"})


def test_bad_settings_are_refused_before_any_work(tmp_path):
    result = invoke("-m", "embedded", "-o", tmp_path / "x", "--mode", "sideways")
    assert result.exit_code == 1 and "--mode must be one of" in result.output
    result = invoke("-m", "embedded", "-o", tmp_path / "x", "--solve-range", "half")
    assert result.exit_code == 1 and "LOW,HIGH" in result.output
    result = invoke("-m", "embedded", "-o", tmp_path / "x", "--solve-range", "0.8,0.2")
    assert result.exit_code == 1 and "--solve-range" in result.output
    result = invoke("-m", "embedded", "-o", tmp_path / "x", "--kind", "vibes")
    assert result.exit_code == 1 and "episode and/or step" in result.output
    assert not (tmp_path / "x" / "checkpoints").exists()


def tiny_run(model, out, updates, lr="1e-3"):
    return invoke("-m", model, "-o", out, "--mode", "colocated", "--kind", "step", "--updates", updates, "-G", 2,
                  "--groups-per-update", 1, "--oversample", 2, "--episodes", 3, "--valid-episodes", 1,
                  "--valid-steps", 2, "--valid-every", 2, "--save-every", 1, "--max-tokens", 8, "--lr", lr)


@pytest.mark.model  # the tiny model takes the real tokenizer
@pytest.mark.slow
def test_a_run_resumes_from_its_last_checkpoint_and_counts_each_update_once(tiny_llama, tmp_path):
    from agentforge.runtime.backends.embedded import EmbeddedBackend

    out = tmp_path / "run"
    first = tiny_run(tiny_llama, out, 2)
    assert first.exit_code == 0, first.output
    second = tiny_run(tiny_llama, out, 3)  # the same run, one update longer
    assert second.exit_code == 0, second.output
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows if "reward" in r] == [1, 2, 3]
    assert [r["update"] for r in rows if "valid_score" in r] == [0, 2, 3]
    assert (out / "rl.png").stat().st_size > 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-3"]
    for model in (out / "final", out / "best" / "final"):
        EmbeddedBackend.load(model)  # servable: agent serve -m embedded:PATH

    other = tiny_run(tiny_llama, out, 3, lr="5e-3")
    assert other.exit_code == 1 and "other settings (lr)" in other.output


@pytest.mark.model
@pytest.mark.slow  # three processes start torch (two trainers under accelerate, one rollout process)
def test_the_run_works_under_accelerate_with_two_trainer_processes(tiny_llama, tmp_path):
    """Rank 0 draws the rollouts (its own rollout process), every rank trains on its share of the batch."""
    import os
    import subprocess
    import sys

    from tests.training.sft.test_distributed import CPU_2PROC, ROOT, free_port

    out = tmp_path / "run"
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CPU_2PROC),
            "--main_process_port", str(free_port()), "-m", "agentforge", "train", "rl", "-m", str(tiny_llama),
            "-o", str(out), "--mode", "disaggregated", "--kind", "step", "--updates", "2", "-G", "2",
            "--groups-per-update", "1", "--oversample", "2", "--episodes", "3", "--valid-episodes", "1",
            "--valid-steps", "2", "--valid-every", "2", "--save-every", "1", "--max-tokens", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows if "reward" in r] == [1, 2]  # written once, by rank 0
    assert (out / "final" / "model.safetensors").exists() and (out / "best" / "final").exists()
