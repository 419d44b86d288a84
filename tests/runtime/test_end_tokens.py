"""Which tokens end the embedded model's turn (embedded.end_token_ids), with the real SmolLM2 tokenizer."""

from __future__ import annotations

import json

from agentforge.runtime.backends.embedded import end_token_ids


def test_every_end_token_of_the_chat_template_stops_generation(checkpoint_dir, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_dir)
    vocab = tok.get_vocab()
    ids = end_token_ids(tok, checkpoint_dir)
    assert vocab["<|im_end|>"] in ids  # ChatML's end of turn, the template's
    # <|endoftext|> is also SmolLM2's unk token: filtering unk out dropped it, and a model that wrote it ran on
    assert tok.unk_token_id == vocab["<|endoftext|>"] and vocab["<|endoftext|>"] in ids
    assert vocab["<|im_start|>"] in ids  # opening the next message ends this one
    assert not ids & set(tok.encode("Hello, world!", add_special_tokens=False))
    # generation_config.json's eos_token_id (a list in Llama 3) counts too
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "generation_config.json").write_text(json.dumps({"eos_token_id": [5, 7]}))
    assert {5, 7} <= end_token_ids(tok, model_dir)
