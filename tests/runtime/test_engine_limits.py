"""The engine bounded under abuse: KV memory within a budget and given back,
prompts longer than the context refused before any prefill, and a long
prefill that does not starve a short request.

A tiny randomly initialised Llama drives the real engine: memory and
scheduling do not depend on the weights, and an 8k-token prefill takes
a moment instead of a minute. Byte counts are the KV tensors' sizes
(deterministic), found the same way whatever the engine's layout."""

from __future__ import annotations

import gc
import threading

import pytest
import torch

from agentforge.runtime.backends.engine import Engine, FinishEvent, GenerationRequest, SamplingSpec, TokenEvent
from agentforge.runtime.backends.llama import KVCache, Llama, LlamaConfig

CONTEXT = 8192


def tiny_llama(context: int = CONTEXT) -> Llama:
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=8,
                      intermediate_size=64, rms_norm_eps=1e-5, rope_theta=10000.0, max_positions=context)
    g = torch.Generator().manual_seed(0)
    w = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731
    sd = {"model.embed_tokens.weight": w(64, 32), "model.norm.weight": torch.ones(32)}
    for i in range(cfg.num_layers):
        p = f"model.layers.{i}."
        sd |= {p + "self_attn.q_proj.weight": w(32, 32), p + "self_attn.k_proj.weight": w(16, 32),
               p + "self_attn.v_proj.weight": w(16, 32), p + "self_attn.o_proj.weight": w(32, 32),
               p + "mlp.gate_proj.weight": w(64, 32), p + "mlp.up_proj.weight": w(64, 32),
               p + "mlp.down_proj.weight": w(32, 64), p + "input_layernorm.weight": torch.ones(32),
               p + "post_attention_layernorm.weight": torch.ones(32)}
    return Llama(cfg, sd)


def position_bytes(cfg: LlamaConfig) -> int:
    """KV bytes of one position of one sequence: keys and values, every layer, fp32."""
    return cfg.num_layers * 2 * cfg.num_kv_heads * cfg.head_dim * 4


def kv_tensor_bytes(engine) -> int:
    """Bytes of every live KV cache built for this engine's model."""
    gc.collect()
    caches = [o for o in gc.get_objects() if isinstance(o, KVCache) and o.cfg is engine.model.cfg]
    return sum(t.numel() * t.element_size() for c in caches for t in c.k + c.v)


class Collector:
    """Events of several requests, in the order the engine emitted them."""

    def __init__(self):
        self.events: list[tuple[str, object]] = []
        self.finished: dict[str, int] = {}
        self.done = threading.Condition()

    def request(self, name: str, prompt: list[int], max_tokens: int, n: int = 1, **kw) -> GenerationRequest:
        def emit(event):
            with self.done:
                self.events.append((name, event))
                if isinstance(event, FinishEvent):
                    self.finished[name] = self.finished.get(name, 0) + 1
                    self.done.notify_all()

        spec = SamplingSpec(temperature=0, max_tokens=max_tokens)
        return GenerationRequest(prompt, n, spec, emit, **kw)

    def wait(self, counts: dict[str, int], timeout: float = 300) -> None:
        with self.done:
            assert self.done.wait_for(lambda: all(self.finished.get(k, 0) >= v for k, v in counts.items()), timeout)

    def results(self, name: str) -> list[FinishEvent]:
        return sorted((e for n, e in self.events if n == name and isinstance(e, FinishEvent)), key=lambda e: e.index)


@pytest.fixture
def make_engine():
    engines = []

    def make(context: int = CONTEXT, **kw) -> Engine:
        engines.append(Engine(tiny_llama(context), eos_ids=set(), decode=lambda ids: "", **kw))
        return engines[-1]

    yield make
    for e in engines:
        e.stop()


def prompt(length: int, seed: int = 1) -> list[int]:
    return torch.randint(1, 64, (length,), generator=torch.Generator().manual_seed(seed)).tolist()


def test_kv_memory_returns_to_baseline_after_a_context_length_prompt(make_engine):
    """Before: the shared cache grew to the full context for all of its slots
    and kept it (1.8 -> 8.9 GB RSS for SmolLM2). Now what the request held is
    freed; at most one remembered prefix of it stays (bounded, see below)."""
    engine = make_engine(max_slots=8)
    runs = Collector()
    engine.submit(runs.request("warm", prompt(20), 4))
    runs.wait({"warm": 1})
    baseline = kv_tensor_bytes(engine)
    long_prompt = prompt(CONTEXT - 8)
    engine.submit(runs.request("long", long_prompt, 4))
    runs.wait({"long": 1})
    assert [e.finish_reason for e in runs.results("long")] == ["length"]
    one_row = CONTEXT * position_bytes(engine.model.cfg)  # the prompt's KV, remembered for reuse
    after = kv_tensor_bytes(engine)
    assert after <= baseline + one_row, (baseline, after)
    assert after == engine.kv_bytes()  # the engine's own account is exact
    assert engine.prefixes.nbytes <= engine.kv_budget // 4


def test_kv_memory_stays_within_the_budget_and_preempted_sequences_resume_exactly(make_engine):
    """Eight 1000-token prompts generating 600 tokens each would need 8 rows of
    1.6k positions; the budget holds 5k positions in all: the engine queues,
    preempts and resumes, never holds more than the budget, and every output
    equals the one computed alone."""
    context = 2048
    bpp = position_bytes(tiny_llama(context).cfg)
    budget = (2 * context + 1024) * bpp  # the floor (one full-context sequence and its prefill) and a little
    engine = make_engine(context, max_slots=8, kv_budget=budget)
    alone = Collector()
    for i in range(8):
        engine.submit(alone.request(f"r{i}", prompt(1000, seed=i), 600))
        alone.wait({f"r{i}": 1})
    peak = [0]
    together = Collector()

    def watched(name: str) -> GenerationRequest:  # samples the engine's bytes on every event, on the engine thread
        req = together.request(name, prompt(1000, seed=int(name[1:])), 600)
        emit = req.emit
        req.emit = lambda ev: (peak.__setitem__(0, max(peak[0], engine.kv_bytes())), emit(ev))
        return req

    with engine._wake:  # all eight arrive at once
        for i in range(8):
            engine.submit(watched(f"r{i}"))
    together.wait({f"r{i}": 1 for i in range(8)})
    assert 0 < peak[0] <= budget
    assert engine.preempted > 0  # the budget did bind
    for i in range(8):
        assert together.results(f"r{i}")[0].token_ids == alone.results(f"r{i}")[0].token_ids


def test_over_long_prompt_is_refused_before_any_prefill(make_engine):
    """Before: a ValueError that the backend turned into a server error (502)."""
    from agentforge.runtime.backends.base import ContextLengthError

    engine = make_engine()
    runs = Collector()
    with pytest.raises(ContextLengthError, match=f"prompt is {CONTEXT + 808} tokens; this model's context is {CONTEXT}"):
        engine.submit(runs.request("x", prompt(CONTEXT + 808), 4))
    assert engine.prefilled_tokens == 0 and not engine.waiting


def test_a_request_too_big_for_the_kv_budget_is_refused_at_once(make_engine):
    from agentforge.runtime.backends.base import ContextLengthError

    bpp = position_bytes(tiny_llama().cfg)
    engine = make_engine(kv_budget=2 * CONTEXT * bpp)  # the least allowed
    runs = Collector()
    with pytest.raises(ContextLengthError, match="n=8 candidates of a 8000-token prompt need .* of KV cache"):
        engine.submit(runs.request("x", prompt(8000), 4, n=8))
    engine.submit(runs.request("one", prompt(8000), 4))  # one candidate fits
    runs.wait({"one": 1})
    with pytest.raises(ValueError, match="too small"):
        make_engine(kv_budget=CONTEXT * bpp)


def test_a_short_request_finishes_while_a_long_prompt_prefills(make_engine):
    """Before: a waiting request started only after the running prefill ended
    (a short request took 37.7 s behind a 55 s prefill). Now prefills take
    turns chunk by chunk with decode steps: the short request is done before
    the long one has its first token."""
    engine = make_engine()
    runs = Collector()
    with engine._wake:  # both queued before the engine picks either
        engine.submit(runs.request("long", prompt(CONTEXT // 2), 4, stream=True))
        engine.submit(runs.request("short", prompt(30, seed=2), 8, stream=True))
    runs.wait({"long": 1, "short": 1})
    order = [(name, type(e).__name__) for name, e in runs.events]
    first_long_token = order.index(("long", "TokenEvent"))
    assert order.index(("short", "FinishEvent")) < first_long_token
    assert sum(1 for name, e in runs.events if name == "short" and isinstance(e, TokenEvent)) == 8
