"""`agent train sft`: multi-turn supervised fine-tuning on {messages, tools} records.

Public API (heavy libraries are imported only when a run starts):
    SftConfig                 every setting of a run (config.py)
    train_sft(config)         train or resume, then export <out>/final (run.py)
    build_trainer(config)     the SftTrainer and packed data, for custom loops/launchers (run.py)
    encode_record(tok, messages, tools)  a record as input_ids + labels, identical to serving (tokenize.py)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentforge.training.sft.config import SftConfig

if TYPE_CHECKING:
    from agentforge.training.sft.run import SftResult

__all__ = ["SftConfig", "SftResult", "build_trainer", "encode_record", "train_sft"]


def train_sft(config: SftConfig) -> "SftResult":
    from agentforge.training.sft.run import train_sft as run

    return run(config)


def build_trainer(config: SftConfig, **kw: Any):
    from agentforge.training.sft.run import build_trainer as build

    return build(config, **kw)


def encode_record(tokenizer: Any, messages, tools=None):
    from agentforge.training.sft.tokenize import encode_record as enc

    return enc(tokenizer, messages, tools)
