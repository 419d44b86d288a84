"""Packing: rows are filled without splitting documents, and a packed document
sees only itself (its logits inside a pack equal its logits alone). The
labelled-positions loss equals the stock full-logits loss, gradients too."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from agentforge.training.sft.doc_attention import ATTN_NAME, document_spans, register  # noqa: E402
from agentforge.training.sft.packing import PackedCollator, pack  # noqa: E402
from agentforge.training.sft.tokenize import IGNORE, Encoded  # noqa: E402
from agentforge.training.sft.trainer import labelled_loss  # noqa: E402


def doc(n: int, seed: int, trained_from: int | None = None) -> Encoded:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 200, (n,), generator=g).tolist()
    cut = n // 2 if trained_from is None else trained_from
    return Encoded(ids, [IGNORE] * cut + ids[cut:])


def tiny_llama(attn: str = "sdpa"):
    from transformers import LlamaConfig, LlamaForCausalLM

    register()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
                         attn_implementation=attn)
    return LlamaForCausalLM(config).eval()


def test_best_fit_keeps_documents_whole_and_fills_rows():
    docs = [doc(n, i) for i, n in enumerate([60, 50, 40, 30, 20, 20, 10, 70, 5])]
    rows = pack(docs, 100)
    assert all(len(r.input_ids) <= 100 for r in rows)
    assert sum(len(r.input_ids) for r in rows) == sum(len(d) for d in docs)
    assert len(rows) == 4  # 305 tokens: the fewest rows of 100 that can hold them
    seen = []
    for r in rows:  # every document appears once, whole, with positions from 0
        starts = [i for i, p in enumerate(r.position_ids) if p == 0] + [len(r.input_ids)]
        seen += [tuple(r.input_ids[a:b]) for a, b in zip(starts, starts[1:])]
    assert sorted(seen) == sorted(tuple(d.input_ids) for d in docs)
    with pytest.raises(ValueError, match="does not fit"):
        pack([doc(101, 0)], 100)


def test_collator_pads_with_a_separate_unlabelled_document():
    rows = pack([doc(10, 1), doc(6, 2)], 12)
    batch = PackedCollator(pad_id=2)([vars(r) for r in rows])
    assert batch["input_ids"].shape == (2, 10)
    assert batch["labels"][1, 6:].eq(IGNORE).all() and batch["input_ids"][1, 6:].eq(2).all()
    assert batch["position_ids"][1].tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3]  # the padding restarts at 0
    assert int(batch["num_tokens"]) == 16


@pytest.mark.parametrize("attn", ["sdpa", "eager", ATTN_NAME])
def test_a_packed_document_attends_only_to_itself(attn):
    model = tiny_llama(attn)
    docs = [doc(17, 1), doc(23, 2), doc(11, 3)]
    row = pack(docs, 64)[0]
    ids = torch.tensor([row.input_ids])
    with torch.no_grad():
        # use_cache=False as in training: with a cache, transformers does not look for packed documents
        packed = model(input_ids=ids, position_ids=torch.tensor([row.position_ids]), use_cache=False).logits[0]
        unmasked = model(input_ids=ids, use_cache=False).logits[0]  # positions 0..n-1: one causal sequence
        offset = 0
        for d in sorted(docs, key=len, reverse=True):  # best-fit-decreasing order: longest first
            alone = model(input_ids=torch.tensor([d.input_ids])).logits[0]
            torch.testing.assert_close(packed[offset:offset + len(d)], alone, atol=1e-5, rtol=1e-5)
            if offset:  # the test can fail: without the restarts later documents see earlier ones
                assert not torch.allclose(unmasked[offset:offset + len(d)], alone, atol=1e-3)
            offset += len(d)


def test_labelled_loss_equals_the_full_logits_loss_and_gradients():
    model = tiny_llama().train()
    rows = pack([doc(30, 1), doc(25, 2, trained_from=20), doc(40, 3), doc(9, 4)], 64)
    batch = PackedCollator(pad_id=0)([vars(r) for r in rows])
    ours = labelled_loss(model, batch)
    ours.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    # reference: every position's logits, stock shifted cross-entropy (mean over labelled tokens)
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    reference = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), batch["labels"][:, 1:].reshape(-1), ignore_index=IGNORE)
    reference.backward()
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(grads, (p.grad for p in model.parameters())):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
    # divided by a given count instead (the step's labelled tokens across micro-batches)
    n = int(batch["labels"][:, 1:].ne(IGNORE).sum())
    torch.testing.assert_close(labelled_loss(model, batch, num_items_in_batch=2 * n), reference / 2,
                               atol=1e-5, rtol=1e-5)


def test_document_spans_cut_rows_where_positions_restart():
    spans = document_spans(torch.tensor([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]]))
    assert spans == [[(0, 3), (3, 5), (5, 6)], [(0, 6)]]


def test_per_document_attention_equals_the_block_diagonal_mask_in_values_and_gradients():
    """Two rows (the second padded) through sdpa with transformers' block-diagonal mask and through
    ATTN_NAME, which builds no mask: same loss, same gradients."""
    rows = pack([doc(30, 1), doc(25, 2), doc(40, 3), doc(9, 4), doc(14, 5)], 64)
    batch = PackedCollator(pad_id=0)([vars(r) for r in rows])
    assert batch["input_ids"].shape[0] == 2 and len(document_spans(batch["position_ids"])[0]) > 1
    results = []
    for attn in ("sdpa", ATTN_NAME):
        model = tiny_llama(attn).train()
        loss = labelled_loss(model, batch)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    (dense_loss, dense_grads), (ours_loss, our_grads) = results
    torch.testing.assert_close(ours_loss, dense_loss, atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(our_grads, dense_grads):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-4)
