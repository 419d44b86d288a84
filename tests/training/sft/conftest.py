"""Fixtures of the SFT tests: the real tokenizer (needs the embedded model's
checkpoint, hence `model` marks), a tiny randomly initialised Llama of the real
model's config cut to 2 layers and hidden size 64, and sample records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.sft.samples import sample_records


@pytest.fixture(scope="session")
def tokenizer(checkpoint_dir):
    from agentforge.training.sft.run import load_tokenizer

    return load_tokenizer(checkpoint_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, checkpoint_dir, tokenizer) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(checkpoint_dir)
    config.num_hidden_layers, config.hidden_size, config.intermediate_size = 2, 64, 128
    config.num_attention_heads, config.num_key_value_heads, config.head_dim = 4, 2, 16
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def records_file(tmp_path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in sample_records(24)))
    return path
