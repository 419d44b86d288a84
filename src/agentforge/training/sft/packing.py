"""Packing documents into fixed-length rows, and the collator that batches rows.

Several records share a row; position ids restart at 0 for each one. Given
position ids and no attention mask, transformers (masking_utils,
`find_packed_sequence_indices`) turns the restarts into a block-diagonal
causal mask for sdpa/eager attention, and flash-attention reads them as
sequence boundaries: no token attends across documents (tested). Padding at
the end of a row is one more "document" with no labels.

Rows are filled best-fit-decreasing (a few % padding at most); the Trainer's
seeded sampler shuffles the row order each epoch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Sequence

from agentforge.training.sft.tokenize import IGNORE, Encoded


@dataclass(frozen=True)
class Row:
    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]


def pack(docs: Sequence[Encoded], seq_len: int) -> list[Row]:
    """Best-fit-decreasing: each document (longest first) goes into the fullest
    row that still has room. Every document must fit in `seq_len`."""
    order = sorted(range(len(docs)), key=lambda i: (-len(docs[i]), i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, bin index), sorted
    for i in order:
        size = len(docs[i])
        if size > seq_len:
            raise ValueError(f"a document of {size} tokens does not fit in a row of {seq_len}")
        at = bisect.bisect_left(free, (size, -1))
        if at < len(free):
            room, b = free.pop(at)
        else:
            room, b = seq_len, len(bins)
            bins.append([])
        bins[b].append(i)
        if room - size > 0:
            bisect.insort(free, (room - size, b))
    return [_row([docs[i] for i in members]) for members in bins]


def _row(docs: Sequence[Encoded]) -> Row:
    input_ids, labels, positions = [], [], []
    for doc in docs:
        input_ids += doc.input_ids
        labels += doc.labels
        positions += range(len(doc))
    return Row(input_ids, labels, positions)


class PackedCollator:
    """Rows to tensors, padded to the longest row of the batch. No attention
    mask on purpose: the restarting position ids are the document boundaries."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        out: dict[str, list[list[int]]] = {"input_ids": [], "labels": [], "position_ids": []}
        for r in rows:
            pad = width - len(r["input_ids"])
            out["input_ids"].append(list(r["input_ids"]) + [self.pad_id] * pad)
            out["labels"].append(list(r["labels"]) + [IGNORE] * pad)
            out["position_ids"].append(list(r["position_ids"]) + list(range(pad)))
        batch = {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
        batch["num_tokens"] = torch.tensor(sum(len(r["input_ids"]) for r in rows))  # real tokens, for tokens/s
        return batch
