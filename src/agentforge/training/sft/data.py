"""From JSONL files to packed train and eval rows, with counts of what was left out."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentforge.training.sft.config import SftConfig
from agentforge.training.sft.packing import Row, pack
from agentforge.training.sft.records import Record, load_records
from agentforge.training.sft.tokenize import IGNORE, Encoded, TokenizationMismatch, encode_record


@dataclass
class DataStats:
    records: int = 0
    train_records: int = 0
    eval_records: int = 0
    too_long: int = 0  # dropped or truncated, as the config says
    mismatched: int = 0  # skipped: see tokenize.TokenizationMismatch
    tokens: int = 0  # in the train rows
    trained_tokens: int = 0  # of which carry a label
    train_rows: int = 0
    eval_rows: int = 0
    fill: float = 0.0  # share of the train rows' capacity holding tokens
    skipped_where: list[str] = field(default_factory=list)

    def summary(self, config: SftConfig) -> str:
        parts = [f"{self.records} records -> {self.train_records} train / {self.eval_records} eval",
                 f"{self.train_rows} rows of {config.seq_len} ({self.fill:.0%} full)",
                 f"{self.tokens} tokens, {self.trained_tokens} with loss"]
        if self.too_long:
            parts.append(f"{self.too_long} longer than --seq-len {config.seq_len} "
                         f"{'dropped' if config.too_long == 'drop' else 'truncated'}")
        if self.mismatched:
            parts.append(f"{self.mismatched} skipped (turns tokenize differently alone than in context, "
                         f"e.g. {', '.join(self.skipped_where[:3])})")
        return "; ".join(parts)


@dataclass
class Prepared:
    train: list[Row]
    eval: list[Row]
    stats: DataStats


def prepare(config: SftConfig, tokenizer: Any) -> Prepared:
    records = load_records(config.data)
    stats = DataStats(records=len(records))
    docs = _encode_all(records, tokenizer, config, stats)
    if not docs:
        raise ValueError(f"no usable records left ({stats.summary(config)}); raise --seq-len or check the data")
    rng = random.Random(config.seed)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_eval = int(round(len(docs) * config.eval_fraction))
    if config.eval_fraction > 0 and len(docs) >= 2:
        n_eval = min(max(n_eval, 1), len(docs) - 1)
    eval_docs = [docs[i] for i in order[:n_eval]]
    train_docs = [docs[i] for i in order[n_eval:]]
    train, evaluation = pack(train_docs, config.seq_len), pack(eval_docs, config.seq_len)
    stats.train_records, stats.eval_records = len(train_docs), len(eval_docs)
    stats.train_rows, stats.eval_rows = len(train), len(evaluation)
    stats.tokens = sum(len(d) for d in train_docs)
    stats.trained_tokens = sum(d.trained_tokens for d in train_docs)
    stats.fill = stats.tokens / max(1, len(train) * config.seq_len)
    return Prepared(train, evaluation, stats)


def _encode_all(records: Sequence[Record], tokenizer: Any, config: SftConfig, stats: DataStats) -> list[Encoded]:
    from tqdm.auto import tqdm

    docs = []
    for record in tqdm(records, desc="tokenizing", unit="rec", disable=not config.progress or len(records) < 200):
        try:
            doc = encode_record(tokenizer, record.messages, record.tools)
        except TokenizationMismatch:
            stats.mismatched += 1
            stats.skipped_where.append(record.where)
            continue
        if len(doc) > config.seq_len:
            stats.too_long += 1
            if config.too_long == "drop":
                continue
            doc = Encoded(doc.input_ids[: config.seq_len], doc.labels[: config.seq_len])
            if doc.trained_tokens == 0:
                continue
        docs.append(doc)
    return docs


class RowDataset:
    """Rows as the dicts the collator takes (a plain map-style dataset)."""

    def __init__(self, rows: Sequence[Row]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        r = self.rows[i]
        return {"input_ids": r.input_ids, "labels": r.labels, "position_ids": r.position_ids}


def labelled(rows: Sequence[Row]) -> int:
    return sum(sum(label != IGNORE for label in r.labels) for r in rows)
