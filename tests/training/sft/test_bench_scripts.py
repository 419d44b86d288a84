"""The SFT bench scripts' code paths, run small on the CPU.

bench/sft_gpu.py times a step of Qwen3-8B's architecture on a GPU; there is
none here, so it must refuse clearly, and its CPU dry run (one layer, hidden
size 64) must go through our trainer's step: packed rows and the LM head on
labelled positions only (counted by a hook on the head).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_sft_gpu_without_cuda_says_what_to_do():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the refusal is for machines without one")
    with pytest.raises(SystemExit) as e:
        load("sft_gpu").main([])
    assert "needs a CUDA GPU" in str(e.value) and "--device cpu --layers 1 --hidden 64" in str(e.value)


def test_sft_gpu_cpu_dry_run_takes_our_training_step(capsys):
    bench = load("sft_gpu")
    result = bench.main(["--device", "cpu", "--layers", "1", "--hidden", "64", "--vocab", "512",
                         "--seq-len", "128", "--rows", "2", "--steps", "1", "--json"])
    assert result["steps"] == 1 and result["tokens_per_s"] > 0 and result["mfu"] is None  # no peak on a CPU
    # the LM head saw exactly the labelled positions of both steps (warm-up and timed), not every position
    assert 0 < result["head_positions"] == result["labelled"]
    assert 0.2 < result["labelled_share"] < 0.5
    assert sum(result["flops_share"].values()) == pytest.approx(1.0)
    assert '"tokens_per_s"' in capsys.readouterr().out


def test_sft_gpu_peaks_and_config():
    bench = load("sft_gpu")
    assert bench.peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert bench.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert bench.peak_tflops("NVIDIA H200") == 989.0 and bench.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert bench.peak_tflops("NVIDIA GeForce RTX 4090") is None
    cfg = bench.model_config(layers=4, hidden=None, vocab=None)
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"],
            cfg["intermediate_size"], cfg["vocab_size"], cfg["head_dim"], cfg["rope_theta"],
            cfg["tie_word_embeddings"]) == (4096, 4, 32, 8, 12288, 151936, 128, 1e6, False)
