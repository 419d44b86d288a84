"""The exported model is served: the embedded backend (our own llama.py engine)
loads `<out>/final` by path, fp32 and int8, and its logits and greedy tokens
match transformers' on the same checkpoint. LoRA is merged on export."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentforge.training.sft import SftConfig, train_sft

pytestmark = [pytest.mark.model, pytest.mark.slow]


def trained(tmp_path, records_file, model_dir, **kw):
    c = SftConfig(data=[records_file], out=tmp_path / "run", model=str(model_dir), seq_len=512, grad_accum=1,
                  max_steps=3, eval_fraction=0.0, lr=5e-3, progress=False, **kw)
    return train_sft(c).final


def test_exported_model_is_served_by_the_embedded_engine(tmp_path, records_file, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from agentforge.runtime.backends import make_backend
    from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE
    from agentforge.runtime.backends.llama import KVCache
    from agentforge.runtime.messages import Message, Sampling

    final = trained(tmp_path, records_file, tiny_model_dir)
    assert (final / "model.safetensors").exists() and (final / "chat_template.jinja").read_text() == CHAT_TEMPLATE
    generation = json.loads((final / "generation_config.json").read_text())
    assert 2 in ([generation["eos_token_id"]] if isinstance(generation["eos_token_id"], int)
                 else generation["eos_token_id"])  # <|im_end|> stops generation
    hf = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    assert not torch.equal(hf.model.layers[0].mlp.up_proj.weight, base.model.layers[0].mlp.up_proj.weight)

    async def serve(spec: str):
        backend = await make_backend(spec)
        try:
            messages = [Message.user("What's the weather in Paris?")]
            ids = torch.tensor([backend.prompt_ids(messages, None)])
            cache = KVCache(backend.engine.model.cfg, slots=1)
            logits = backend.engine.model.forward(ids, torch.arange(ids.shape[1])[None], cache, torch.tensor([0]))
            done = await backend.complete(messages, None, sampling=Sampling(temperature=0, max_tokens=8))
            return backend.name, ids, logits[0], done[0]
        finally:
            await backend.aclose()

    name, ids, logits, completion = asyncio.run(serve(f"embedded:{final}"))
    with torch.no_grad():
        reference = hf(ids).logits[0, -1]
        greedy = hf.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=[2])[0, ids.shape[1]:]
    torch.testing.assert_close(logits, reference, atol=1e-4, rtol=1e-4)
    # greedy decoding: the same tokens (transformers keeps the stop token it ended on; compare up to it)
    served, expected = completion.token_ids, greedy.tolist()
    n = min(len(served), len(expected))
    assert n > 0 and served[:n] == expected[:n]
    # int8 weights: close, not exact; the spec accepts both orders
    for spec in (f"embedded:int8:{final}", f"embedded:{final}+int8"):
        name8, _, logits8, _ = asyncio.run(serve(spec))
        assert name8.endswith("-int8")
        assert torch.nn.functional.cosine_similarity(logits8, reference, dim=0) > 0.99


def test_lora_is_merged_on_export(tmp_path, records_file, tiny_model_dir):
    import torch
    from safetensors.torch import load_file

    final = trained(tmp_path, records_file, tiny_model_dir, lora=True, lora_rank=4)
    merged, base = load_file(final / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    assert merged.keys() == base.keys()  # a plain model: no adapter weights left
    changed = [k for k in base if not torch.equal(merged[k], base[k])]
    assert changed and all("proj" in k for k in changed)  # the adapted linear layers moved, nothing else
    # the merged model computes what base + adapter computed (adapter from the last checkpoint)
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    last = max((tmp_path / "run" / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), last).eval()
    plain = AutoModelForCausalLM.from_pretrained(final).eval()
    ids = torch.randint(3, 1000, (1, 20))
    with torch.no_grad():
        torch.testing.assert_close(plain(ids).logits, with_adapter(ids).logits, atol=1e-4, rtol=1e-4)
