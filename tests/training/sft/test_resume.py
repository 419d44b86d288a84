"""A run SIGKILLed at an arbitrary moment resumes to the same result as a run
never interrupted: same loss at every step, same final weights, each step
logged once. A half-written checkpoint (what a kill during a save leaves) is
detected and ignored."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentforge.training.sft import SftConfig, train_sft
from agentforge.training.sft.checkpoints import MARKER

pytestmark = [pytest.mark.model, pytest.mark.slow]

STEPS, SAVE = 6, 2


def config(records: Path, out: Path, model: Path) -> SftConfig:
    return SftConfig(data=[records], out=out, model=str(model), seq_len=512, batch_size=1, grad_accum=2,
                     max_steps=STEPS, save_steps=SAVE, eval_fraction=0.15, eval_steps=3, lr=1e-3, seed=3,
                     progress=False)


def cli_args(c: SftConfig) -> list[str]:
    return ["--data", str(c.data[0]), "--out", str(c.out), "--model", c.model, "--seq-len", str(c.seq_len),
            "--batch-size", str(c.batch_size), "--grad-accum", str(c.grad_accum), "--max-steps", str(c.max_steps),
            "--save-steps", str(c.save_steps), "--eval-fraction", str(c.eval_fraction), "--eval-steps",
            str(c.eval_steps), "--lr", str(c.lr), "--seed", str(c.seed)]


def metrics(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("tokens_per_s",)} for r in rows]


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_killed_run_resumes_to_the_same_final_loss(tmp_path, records_file, tiny_model_dir):
    import torch

    reference = config(records_file, tmp_path / "straight", tiny_model_dir)
    train_sft(reference)

    killed = config(records_file, tmp_path / "killed", tiny_model_dir)
    first = killed.out / "checkpoints" / f"checkpoint-{SAVE}" / MARKER
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[3] / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "agentforge", "train", "sft", *cli_args(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not first.exists():  # kill once there is something to resume from, wherever the run is then
            assert proc.poll() is None, f"the training process ended early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert not (killed.out / "final").exists()
    # what a kill in the middle of a later save leaves: a checkpoint folder with a cut file and no marker
    checkpoints = killed.out / "checkpoints"
    # (the last *complete* one: on a quiet machine the kill can itself land in the next save, and then
    # that folder is already the torn one)
    last = max((p for p in checkpoints.glob("checkpoint-*") if (p / MARKER).exists()),
               key=lambda p: int(p.name.split("-")[1]))
    torn = checkpoints / f"checkpoint-{int(last.name.split('-')[1]) + SAVE}"
    if not torn.exists():
        shutil.copytree(last, torn)
        (torn / MARKER).unlink(missing_ok=True)
        data = (torn / "model.safetensors").read_bytes()
        (torn / "model.safetensors").write_bytes(data[: len(data) // 3])

    result = train_sft(killed)  # the same command again: resumes
    assert result.resumed_from is not None and result.resumed_from.name != torn.name
    assert not torn.exists() or (torn / MARKER).exists()  # removed, or rewritten whole by the resumed run

    straight, resumed = metrics(reference.out), metrics(killed.out)
    assert [r["step"] for r in resumed if "loss" in r] == list(range(1, STEPS + 1))  # each step logged once
    assert len(straight) == len(resumed)
    for a, b in zip(straight, resumed):
        assert a.keys() == b.keys() and a["step"] == b["step"]
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), (a["step"], key)
    final_a, final_b = weights(reference.out / "final"), weights(killed.out / "final")
    assert final_a.keys() == final_b.keys()
    for name in final_a:
        torch.testing.assert_close(final_a[name], final_b[name], atol=1e-6, rtol=1e-5)
    assert (killed.out / "loss.png").stat().st_size > 0


def test_a_finished_run_is_not_trained_again_and_other_settings_are_refused(tmp_path, records_file, tiny_model_dir):
    from agentforge.training.sft.run import RunMismatch

    c = config(records_file, tmp_path / "run", tiny_model_dir)
    c.max_steps, c.eval_fraction = 2, 0.0
    first = train_sft(c)
    assert first.steps == 2 and (first.final / "model.safetensors").exists()
    again = train_sft(c)
    assert again.steps == 0 and again.final == first.final
    c.lr = 5e-4
    with pytest.raises(RunMismatch, match="lr"):
        train_sft(c)
