"""Our minimal Llama forward pass must reproduce transformers' logits, whether
prefilled at once, decoded token by token, or batched with other sequences."""

from __future__ import annotations

import json

import pytest
import torch

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def models(checkpoint_dir):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentforge.runtime.backends.llama import Llama, LlamaConfig

    cfg = LlamaConfig.from_hf(json.loads((checkpoint_dir / "config.json").read_text()))
    state = load_file(checkpoint_dir / "model.safetensors")
    hf = AutoModelForCausalLM.from_pretrained(checkpoint_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(checkpoint_dir)
    return cfg, Llama(cfg, state), Llama(cfg, state, int8=True), hf, tok


def _ids(tok, text):
    return tok(text, return_tensors="pt", add_special_tokens=False).input_ids


def test_prefill_and_decode_match_transformers(models):
    from agentforge.runtime.backends.llama import KVCache

    cfg, ours, _, hf, tok = models
    ids = _ids(tok, "<|im_start|>user\nName three primary colors.<|im_end|>\n<|im_start|>assistant\nRed, blue")
    T = ids.shape[1]
    with torch.inference_mode():
        ref = hf(ids).logits[0]
        cache = KVCache(cfg, slots=3, capacity=8)  # small capacity: exercises growth
        full = ours.forward(ids, torch.arange(T).view(1, T), cache, torch.tensor([0]))
        assert torch.allclose(full[0], ref[-1], atol=1e-3)
        # Slot 2: prefill all but 3 tokens, then decode them one at a time.
        ours.forward(ids[:, : T - 3], torch.arange(T - 3).view(1, -1), cache, torch.tensor([2]))
        for j in range(T - 3, T):
            step = ours.forward(ids[:, j : j + 1], torch.tensor([[j]]), cache, torch.tensor([2]))
            assert torch.allclose(step[0], ref[j], atol=1e-3)


def test_batched_rows_at_different_positions_match_single_rows(models):
    from agentforge.runtime.backends.llama import KVCache

    cfg, ours, _, _, tok = models
    a = _ids(tok, "The capital of France is")
    b = _ids(tok, "def fibonacci(n):\n    if n < 2:\n        return")
    with torch.inference_mode():
        cache = KVCache(cfg, slots=2)
        for slot, ids in enumerate((a, b)):
            n = ids.shape[1] - 1
            ours.forward(ids[:, :n], torch.arange(n).view(1, -1), cache, torch.tensor([slot]))
        batch = ours.forward(
            torch.tensor([[a[0, -1]], [b[0, -1]]]),
            torch.tensor([[a.shape[1] - 1], [b.shape[1] - 1]]),
            cache,
            torch.tensor([0, 1]),
        )
        for row, ids in enumerate((a, b)):
            alone = ours.forward(ids, torch.arange(ids.shape[1]).view(1, -1), KVCache(cfg, 1), torch.tensor([0]))
            assert torch.allclose(batch[row], alone[0], atol=1e-3)


def test_int8_weights_stay_close_to_fp32(models):
    """Weight-only int8 must not change what the model predicts much:
    same top-1 token on most positions and a small log-prob shift."""
    from agentforge.runtime.backends.llama import KVCache

    cfg, ours, int8, _, tok = models
    ids = _ids(tok, "Tools let an agent act: it reads files, runs tests and edits code until the tests pass.")
    T = ids.shape[1]
    with torch.inference_mode():
        lp = []
        for model in (ours, int8):
            cache = KVCache(cfg, 1)
            rows = [model.forward(ids[:, : j + 1][:, -1:], torch.tensor([[j]]), cache, torch.tensor([0])) for j in range(T)]
            lp.append(torch.log_softmax(torch.cat(rows), dim=-1))
    agree = (lp[0].argmax(-1) == lp[1].argmax(-1)).float().mean().item()
    nxt = ids[0, 1:].view(-1, 1)
    shift = (lp[0][:-1].gather(1, nxt) - lp[1][:-1].gather(1, nxt)).abs().mean().item()
    assert agree > 0.85
    assert shift < 0.2
