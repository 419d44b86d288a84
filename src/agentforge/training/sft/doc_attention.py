"""Per-document causal attention for packed rows, without a dense mask.

transformers turns restarting position ids into a block-diagonal causal mask
for sdpa. That mask is (row × row) per layer and forces sdpa onto its masked
path, so a row of four records costs the attention of one record four times
as long: measured, it ate the gain of packing on CPU (BENCHMARKS.md).
Flash-attention's varlen kernels avoid this on GPUs; this module does the same
on any device: it cuts each row at the position-id resets and runs sdpa with
`is_causal` on each document, so attention costs the sum of the squared
document lengths and no mask is built. The result is exactly the block-diagonal
mask's, which a test checks.

`register()` adds it to transformers under the name `ATTN_NAME`; a model loaded
with `attn_implementation=ATTN_NAME` uses it. A forward without position ids
(generation, a plain batch) falls back to transformers' sdpa.
"""

from __future__ import annotations

ATTN_NAME = "sdpa_packed_docs"


def document_spans(position_ids) -> list[list[tuple[int, int]]]:
    """[(start, end), ...] of each row's segments: a segment starts where the position ids do not go on
    by one (a document starts at 0; a branch, see below, at the length of the prefix it shares)."""
    spans = []
    for row in position_ids.tolist():
        starts = [0] + [i for i in range(1, len(row)) if row[i] != row[i - 1] + 1]
        spans.append(list(zip(starts, starts[1:] + [len(row)])))
    return spans


def packed_docs_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """Same contract as transformers' sdpa_attention_forward: q (b, h, L, d), k/v (b, h_kv, L, d) →
    ((b, L, h, d), None)."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    position_ids = kwargs.get("position_ids")
    if position_ids is None or attention_mask is not None or query.shape[2] != key.shape[2]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    positions = position_ids.expand(query.shape[0], -1)
    spans = document_spans(positions)
    rows = []
    for b, row_spans in enumerate(spans):
        docs, root = [], 0
        for s, e in row_spans:
            shared = int(positions[b, s])
            if shared == 0:  # a document: causal attention within it
                root = s
                docs.append(torch.nn.functional.scaled_dot_product_attention(
                    query[b:b + 1, :, s:e], key[b:b + 1, :, s:e], value[b:b + 1, :, s:e],
                    dropout_p=dropout, scale=scaling, is_causal=True))
                continue
            # a branch: it continues the first `shared` tokens of the last document (e.g. G completions
            # of one prompt, packed as prompt + completion, completion, ...: the prompt runs once)
            keys = torch.cat([key[b:b + 1, :, root:root + shared], key[b:b + 1, :, s:e]], dim=2)
            values = torch.cat([value[b:b + 1, :, root:root + shared], value[b:b + 1, :, s:e]], dim=2)
            mask = torch.ones(e - s, shared + e - s, dtype=torch.bool, device=query.device)
            mask[:, shared:] = torch.ones(e - s, e - s, dtype=torch.bool, device=query.device).tril()
            docs.append(torch.nn.functional.scaled_dot_product_attention(
                query[b:b + 1, :, s:e], keys, values, attn_mask=mask, dropout_p=dropout, scale=scaling))
        rows.append(torch.cat(docs, dim=2) if len(docs) > 1 else docs[0])
    out = torch.cat(rows, dim=0) if len(rows) > 1 else rows[0]
    return out.transpose(1, 2).contiguous(), None


def _no_mask(*args, **kwargs):
    # The attention above reads the documents from the position ids: no mask to build.
    return None


def register() -> str:
    """Make ATTN_NAME known to transformers (idempotent); returns the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, packed_docs_attention)
    AttentionMaskInterface.register(ATTN_NAME, _no_mask)
    return ATTN_NAME
