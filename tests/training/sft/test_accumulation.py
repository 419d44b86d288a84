"""Gradient accumulation does not change the result: 2 rows per micro-batch in
one step, or 1 row per micro-batch accumulated twice, give the same losses and
weights (the loss is normalized by the labelled tokens of the whole step)."""

from __future__ import annotations

import json

import pytest

from agentforge.training.sft import SftConfig, train_sft

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_accumulated_micro_batches_equal_one_batch(tmp_path, records_file, tiny_model_dir):
    import torch
    from safetensors.torch import load_file

    runs = {}
    for name, batch, accum in (("batch", 2, 1), ("accumulated", 1, 2)):
        c = SftConfig(data=[records_file], out=tmp_path / name, model=str(tiny_model_dir), seq_len=512,
                      batch_size=batch, grad_accum=accum, max_steps=2, eval_fraction=0.0, lr=1e-3, progress=False)
        train_sft(c)
        losses = [json.loads(line)["loss"] for line in (c.out / "metrics.jsonl").read_text().splitlines()]
        runs[name] = losses, load_file(c.out / "final" / "model.safetensors")
    (loss_a, w_a), (loss_b, w_b) = runs.values()
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    for key in w_a:
        torch.testing.assert_close(w_a[key], w_b[key], atol=1e-6, rtol=1e-5)
