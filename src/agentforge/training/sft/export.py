"""The servable model: `<out>/final/`, an ordinary Hugging Face checkpoint.

safetensors weights (LoRA merged in), the tokenizer with the tool-aware chat
template the model was trained with, and a generation config that stops at
<|im_end|>. `agent serve -m embedded:<out>/final` (also `+int8`), vLLM and
transformers load it as it is. Written into a temporary folder and renamed
into place, so `final/` exists only whole.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

FINAL = "final"


def export(model: Any, tokenizer: Any, out: Path, *, dtype: Any = None, info: dict | None = None,
           state_dict: dict | None = None) -> Path:
    """Save `model` (a transformers or peft model) and `tokenizer` as `<out>/final`.

    `state_dict`: the full weights when `model` holds only this process's shard
    (FSDP), gathered beforehand by every process (`accelerator.get_state_dict`)."""
    import torch

    target = out / FINAL
    if state_dict is not None:
        state_dict = {k: v.to(dtype or torch.float32) for k, v in state_dict.items()}
    else:
        if hasattr(model, "merge_and_unload"):  # peft: fold the adapters into the weights
            model = model.merge_and_unload()
        model = model.to(dtype or torch.float32)
    building = Path(tempfile.mkdtemp(dir=out, prefix=f".{FINAL}.building-"))
    building.chmod(0o755)
    try:
        model.save_pretrained(building, safe_serialization=True, state_dict=state_dict)
        tokenizer.save_pretrained(building)
        _generation_config(model, tokenizer).save_pretrained(building)
        if info is not None:
            (building / "agentforge-sft.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=out, prefix=f".{FINAL}.old-"))
            target.replace(old / FINAL)
            shutil.rmtree(old, ignore_errors=True)
        building.replace(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _generation_config(model: Any, tokenizer: Any):
    from transformers import GenerationConfig

    stops = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    stops = [i for i in stops if isinstance(i, int) and i != tokenizer.unk_token_id]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stops:
        stops.append(tokenizer.eos_token_id)
    config = GenerationConfig.from_model_config(model.config)
    config.eos_token_id = stops or None
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (stops or [None])[0]
    return config
