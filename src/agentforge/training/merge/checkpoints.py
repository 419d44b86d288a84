"""The checkpoints around a merge: check the inputs before any tensor is read (a clear error instead
of one from deep inside mergekit), and complete the output with what serving needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

# Copied from the tokenizer source into the output (whichever exist): the embedded backend loads the
# tokenizer with AutoTokenizer and ends turns on generation_config.json's eos ids.
SERVING_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                 "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json", "generation_config.json")


class CheckpointError(ValueError):
    """An input that cannot be merged, or an output that cannot be served."""


def read_config(model: Path) -> dict:
    model = Path(model)
    if not model.is_dir():
        raise CheckpointError(f"{model}: no such checkpoint folder")
    path = model / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{model}: no config.json (not a Hugging Face checkpoint folder)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not JSON ({e})") from None


def tensor_shapes(model: Path) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape from the safetensors headers (no tensor is loaded)."""
    from safetensors import safe_open

    shards = sorted(Path(model).glob("*.safetensors"))
    if not shards:
        raise CheckpointError(f"{model}: no .safetensors weights (save it with save_pretrained(..., "
                              "safe_serialization=True))")
    shapes: dict[str, tuple[int, ...]] = {}
    for shard in shards:
        with safe_open(str(shard), framework="pt") as f:
            for name in f.keys():
                shapes[name] = tuple(f.get_slice(name).get_shape())
    return shapes


def check_inputs(reference: Path, others: list[Path]) -> dict:
    """All inputs are checkpoints of one architecture with the same tensors and shapes as `reference`
    (the base, or the first model). Returns the reference's config."""
    config = read_config(reference)
    shapes = tensor_shapes(reference)
    for model in others:
        other = read_config(model)
        for key in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size"):
            if other.get(key) != config.get(key):
                raise CheckpointError(f"{model}: {key} {other.get(key)!r}, but {reference} has "
                                      f"{config.get(key)!r}: merging needs checkpoints of one architecture")
        theirs = tensor_shapes(model)
        for name, shape in shapes.items():
            if name not in theirs:
                if name == "lm_head.weight" and "model.embed_tokens.weight" in theirs:
                    continue  # tied embeddings saved once
                raise CheckpointError(f"{model}: no tensor {name} (which {reference} has)")
            if theirs[name] != shape:
                raise CheckpointError(f"{model}: {name} has shape {list(theirs[name])}, {reference} has "
                                      f"{list(shape)}: merging needs the same shapes")
    return config


def config_dtype(config: dict) -> str:
    dtype = config.get("dtype") or config.get("torch_dtype") or "float32"
    return dtype if dtype in ("float32", "bfloat16", "float16") else "float32"


def copy_serving_files(source: Path, out: Path) -> list[str]:
    """Tokenizer, chat template and generation config from `source` into `out`; the names copied."""
    copied = []
    for name in SERVING_FILES:
        if (Path(source) / name).is_file():
            shutil.copyfile(Path(source) / name, Path(out) / name)
            copied.append(name)
    if "tokenizer.json" not in copied and "tokenizer.model" not in copied and "vocab.json" not in copied:
        raise CheckpointError(f"{source}: no tokenizer files to copy into the merged checkpoint")
    return copied


def tokenizer_source(candidates: list[Path]) -> Path:
    """The first candidate (the base, then the models in order) that has a tokenizer."""
    for folder in candidates:
        if any((Path(folder) / name).is_file() for name in ("tokenizer.json", "tokenizer.model", "vocab.json")):
            return Path(folder)
    raise CheckpointError("no input has tokenizer files (tokenizer.json): the merged checkpoint could not be "
                          "served; save a tokenizer beside the base or the first model")
