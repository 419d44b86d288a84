"""SftConfig: every setting of one `agent train sft` run, in one place.

The defaults suit the embedded SmolLM2-135M on a small CPU machine: rows of
1024 tokens, one row per micro-batch (packing already fills it), 8 rows per
optimizer step, full fine-tuning at 1e-4 with a 5% warm-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SftConfig:
    data: list[Path]  # JSONL files of {messages, tools} records
    out: Path  # run folder: checkpoints, metrics, and final/ (the servable model)
    model: str = "embedded"  # "embedded" (the bundled SmolLM2) or a Hugging Face checkpoint folder
    lora: bool = False  # LoRA adapters (merged into the exported model) instead of full fine-tuning
    lora_rank: int = 16
    lora_alpha: int = 32
    lr: float | None = None  # None: 1e-4 for full fine-tuning, 2e-4 for LoRA
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs when set
    seq_len: int = 1024  # tokens per packed row
    batch_size: int = 1  # rows per micro-batch (per process)
    grad_accum: int = 8  # micro-batches per optimizer step
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    eval_fraction: float = 0.05  # of the records, held out for the eval loss
    eval_steps: int | None = None  # None: about 5 evaluations per run
    save_steps: int = 20
    keep_checkpoints: int = 2
    logging_steps: int = 1
    seed: int = 0
    too_long: str = "drop"  # a record longer than seq_len: "drop" it or "truncate" it
    # per-document sdpa on packed rows (doc_attention.py); any transformers name works ("sdpa", "flash_attention_2")
    attn_implementation: str = "sdpa_packed_docs"
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # passed to TrainingArguments as is (scale-out settings)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (2e-4 if self.lora else 1e-4)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give at least one --data FILE.jsonl of training records")
        for path in self.data:
            if not Path(path).is_file():
                raise ValueError(f"--data {path}: no such file")
        if self.too_long not in ("drop", "truncate"):
            raise ValueError(f"too_long must be 'drop' or 'truncate', not {self.too_long!r}")
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"--eval-fraction must be in [0, 1), not {self.eval_fraction}")
        if self.seq_len < 16:
            raise ValueError(f"--seq-len {self.seq_len} is too short to hold a conversation")

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a re-run to resume this run rather than start another."""
        d = asdict(self)
        for key in ("out", "progress", "save_steps", "keep_checkpoints", "logging_steps", "extra"):
            d.pop(key)
        d["data"] = [f"{Path(p).resolve()} sha256:{_sha256(Path(p))}" for p in self.data]  # changed data: a new run
        return d


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
