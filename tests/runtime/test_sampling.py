"""The engine's sampler: exact top-k / top-p cuts, per-row seeds."""

from __future__ import annotations

import torch

from agentforge.runtime.backends.sampling import TOP_CANDIDATES, SamplingSpec, _draw, sample_tokens


def logits_from(probs: list[float], vocab: int = 1000) -> torch.Tensor:
    """A row whose softmax puts `probs` on the first tokens and ~0 elsewhere."""
    row = torch.full((vocab,), -1e4)
    row[: len(probs)] = torch.tensor(probs).log()
    return row


def test_greedy_topk1_and_tiny_top_p_all_pick_the_argmax():
    logits = torch.randn(6, 5000) * 3
    g = torch.Generator().manual_seed(0)
    greedy = logits.argmax(-1)
    assert torch.equal(sample_tokens(logits, [SamplingSpec(temperature=0)] * 6, [None] * 6), greedy)
    assert torch.equal(sample_tokens(logits, [SamplingSpec(top_k=1)] * 6, [g] * 6), greedy)
    assert torch.equal(sample_tokens(logits, [SamplingSpec(top_p=1e-6)] * 6, [g] * 6), greedy)


def test_top_p_keeps_the_smallest_set_reaching_p():
    # probabilities 0.5, 0.3, 0.15, 0.05: top_p=0.7 keeps the first two only
    row = logits_from([0.5, 0.3, 0.15, 0.05])
    g = torch.Generator().manual_seed(1)
    picks = [int(sample_tokens(row.view(1, -1), [SamplingSpec(top_p=0.7)], [g])[0]) for _ in range(2000)]
    counts = torch.bincount(torch.tensor(picks), minlength=4)
    assert set(picks) == {0, 1}
    assert abs(counts[0] / 2000 - 0.5 / 0.8) < 0.04


def test_top_k_and_temperature():
    row = logits_from([0.4, 0.3, 0.2, 0.1])
    g = torch.Generator().manual_seed(2)
    picks = {int(sample_tokens(row.view(1, -1), [SamplingSpec(top_k=2)], [g])[0]) for _ in range(500)}
    assert picks == {0, 1}
    cold = [int(sample_tokens(row.view(1, -1), [SamplingSpec(temperature=0.05)], [g])[0]) for _ in range(200)]
    assert cold.count(0) > 190


def test_flat_distribution_falls_back_past_the_candidates():
    """When the top candidates hold less than top_p, the cut is searched in the
    whole vocabulary, so tokens ranked beyond TOP_CANDIDATES can be drawn."""
    vocab = TOP_CANDIDATES * 4
    logits = torch.zeros(1, vocab)  # uniform
    g = torch.Generator().manual_seed(3)
    picks = [int(sample_tokens(logits, [SamplingSpec(top_p=0.9)], [g])[0]) for _ in range(400)]
    assert max(picks) >= TOP_CANDIDATES


def test_seeded_rows_do_not_depend_on_their_batch_neighbours():
    logits = torch.randn(4, 3000)
    spec = SamplingSpec(temperature=0.8, top_p=0.95)

    def run(companions):
        gens = [torch.Generator().manual_seed(42)] + [torch.Generator().manual_seed(c) for c in companions]
        return int(sample_tokens(logits[: 1 + len(companions)], [spec] * (1 + len(companions)), gens)[0])

    assert run([]) == run([1, 2, 3]) == run([9])


def test_draw_follows_the_weights():
    g = torch.Generator().manual_seed(4)
    w = torch.tensor([0.1, 0.0, 0.6, 0.3])
    freq = torch.bincount(torch.tensor([_draw(w, g) for _ in range(20000)]), minlength=4) / 20000
    assert freq[1] == 0
    assert torch.allclose(freq, w, atol=0.015)
