"""One merge, start to finish: check the inputs, run mergekit, complete the output for serving."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentforge.training.merge.checkpoints import (
    CheckpointError,
    check_inputs,
    config_dtype,
    copy_serving_files,
    read_config,
    tensor_shapes,
    tokenizer_source,
)
from agentforge.training.merge.spec import MergeSpec

RECORD = "agentforge-merge.json"
INSTALL_HINT = "pip install 'agentforge[merge]' (or: pip install mergekit)"


class MergeError(RuntimeError):
    """The merge could not run (mergekit missing, an output folder in the way)."""


@dataclass
class MergeResult:
    out: Path
    method: str
    tensors: int
    wall_s: float
    copied: list[str] = field(default_factory=list)


def merge(spec: MergeSpec, out: Path, overwrite: bool = False, tokenizer_from: Path | None = None) -> MergeResult:
    """Merge `spec.models` (over `spec.base`) into the checkpoint folder `out`."""
    spec.check()
    inputs = ([Path(spec.base)] if spec.base is not None else []) + [Path(m) for m in spec.models]
    config = check_inputs(inputs[0], inputs[1:])
    out_dtype = spec.dtype or config_dtype(config)
    return run_mergekit(spec.mergekit_config(out_dtype), inputs, Path(out), overwrite, tokenizer_from)


def merge_from_yaml(path: Path, out: Path, overwrite: bool = False, tokenizer_from: Path | None = None) -> MergeResult:
    """Merge as a mergekit YAML says (any method mergekit has); the same input checks and output."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such merge configuration")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict) or "merge_method" not in config:
        raise CheckpointError(f"{path}: not a mergekit configuration (no merge_method)")
    inputs = [Path(config["base_model"])] if config.get("base_model") else []
    inputs += [Path(m["model"]) for m in config.get("models") or [] if Path(m["model"]) not in inputs]
    if not inputs:
        raise CheckpointError(f"{path}: names no models (slices and modules configurations: run mergekit-yaml)")
    for folder in inputs:
        if not folder.is_absolute():  # mergekit reads a relative name as a Hugging Face Hub repository
            raise CheckpointError(f"{path}: {folder} is relative; give local checkpoints as absolute paths")
    check_inputs(inputs[0], inputs[1:])
    return run_mergekit(config, inputs, Path(out), overwrite, tokenizer_from)


def run_mergekit(config: dict[str, Any], inputs: list[Path], out: Path, overwrite: bool,
                 tokenizer_from: Path | None) -> MergeResult:
    try:
        from mergekit.config import MergeConfiguration
        from mergekit.merge import MergeOptions, run_merge
    except ImportError as e:
        raise MergeError(f"merging needs mergekit ({e}): {INSTALL_HINT}") from None
    import mergekit
    import torch

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise MergeError(f"{out} is not empty: choose a new folder or pass --overwrite")
    source = Path(tokenizer_from) if tokenizer_from else tokenizer_source(inputs)
    start = time.monotonic()
    threads = torch.get_num_threads()
    run_merge(MergeConfiguration.model_validate(config), out_path=str(out),
              options=MergeOptions(copy_tokenizer=False, quiet=True, num_threads=threads))
    copied = copy_serving_files(source, out)
    _usual_permissions(out)
    wall = time.monotonic() - start
    tensors = len(tensor_shapes(out))
    if read_config(out).get("model_type") != read_config(inputs[0]).get("model_type"):
        raise MergeError(f"{out}: mergekit wrote another model_type than {inputs[0]}'s")
    record = {"method": config["merge_method"], "mergekit": getattr(mergekit, "__version__", None) or _version(),
              "config": config, "tokenizer_from": str(source.resolve()), "tensors": tensors,
              "wall_s": round(wall, 2)}
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return MergeResult(out=out, method=config["merge_method"], tensors=tensors, wall_s=wall, copied=copied)


def _usual_permissions(out: Path) -> None:
    """mergekit writes its shards owner-only (0600); give every file the mode a new file gets."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    for path in out.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mergekit")
    except PackageNotFoundError:
        return None
