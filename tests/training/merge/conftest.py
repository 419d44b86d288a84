"""Tiny randomly initialised Llama checkpoints of one architecture (hidden size 4, one layer), saved
with save_pretrained as safetensors: a base with a real (tiny, word-level) tokenizer, chat template
and generation config, and two fine-tunes "a" and "b". Their final norm weight (4 numbers) is set by
hand so that each method's result on it can be computed by hand in the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# model.norm.weight of each checkpoint: Δa = [1, 0, -1.5, 0.5], Δb = [-3, 2, 1, 1.5]
NORM = {"base": [1.0, 1.0, 1.0, 1.0], "a": [2.0, 1.0, -0.5, 1.5], "b": [-2.0, 3.0, 2.0, 2.5]}
WORDS = ["<unk>", "<s>", "</s>", "hello", "world", "user", "assistant", "the", "a", "is"]


def tiny_config(hidden_size: int = 4):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(WORDS) + 6, hidden_size=hidden_size, intermediate_size=8,
                       num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, head_dim=hidden_size // 2,
                       max_position_embeddings=64, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                       pad_token_id=2)


def save_llama(folder: Path, seed: int, norm: list[float] | None = None, hidden_size: int = 4) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_config(hidden_size)).to(torch.float32)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)  # every tensor differs between checkpoints (norms start at ones otherwise)
        if norm is not None:
            model.model.norm.weight.copy_(torch.tensor(norm))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def save_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>", pad_token="</s>", chat_template=CHAT_TEMPLATE)
    tokenizer.save_pretrained(folder)
    GenerationConfig(bos_token_id=1, eos_token_id=2).save_pretrained(folder)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-merge")
    out = {name: save_llama(root / name, seed, NORM[name]) for seed, name in enumerate(NORM)}
    save_tokenizer(out["base"])
    return out


def load(folder: Path) -> dict:
    from safetensors.torch import load_file

    state: dict = {}
    for shard in sorted(Path(folder).glob("*.safetensors")):
        state.update(load_file(shard))
    return state
