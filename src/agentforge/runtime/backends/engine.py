"""Continuous-batching generation engine for the embedded model.

One background thread owns the model. Requests join the running batch
between decode steps (their prompts prefilled in chunks, interleaved with
decoding so running sequences keep moving) and leave it the step they finish.
The n candidates of one request share a single prefill: its KV cache is
copied into n slots. Every step records the sampled token, its raw
log-probability and the top-k alternatives, so nothing is ever re-tokenized.

A request may carry one grammar constraint per candidate (tool_grammar.py):
that row's logits are masked to the tokens its grammar allows before
sampling, and the constraint advances with each sampled token.

Results go back to asyncio through `loop.call_soon_threadsafe`, so hundreds
of waiting requests cost nothing while the engine works.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from agentforge.runtime.backends.llama import KVCache, Llama

log = logging.getLogger(__name__)

PREFILL_CHUNK = 256  # prompt tokens per prefill call; bounds how long decoding pauses
PREFIX_MIN = 16  # shorter shared prefixes are not worth a cache copy


@dataclass
class SamplingSpec:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_tokens: int = 256
    seed: int | None = None
    stop: tuple[str, ...] = ()
    top_logprobs: int = 0  # alternatives to record per token (0 = none)


@dataclass
class TokenEvent:
    index: int
    token_id: int
    logprob: float
    top: list[tuple[int, float]]  # (token id, logprob), most likely first


@dataclass
class FinishEvent:
    index: int
    token_ids: list[int]
    logprobs: list[float]
    top: list[list[tuple[int, float]]]
    finish_reason: str  # stop | length | cancelled | error
    prompt_tokens: int
    stop_text_len: int | None = None  # where a stop string began in the decoded text
    error: str | None = None


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    n: int
    sampling: SamplingSpec
    emit: Callable[[Any], None]  # receives TokenEvent (if stream) and FinishEvent, on the engine thread
    stream: bool = False
    cancelled: bool = False
    prefilled: int = 0  # prompt tokens already in the cache
    constraints: list[Any] | None = None  # one tool_grammar.Constraint per candidate, or None


@dataclass
class _Sequence:
    request: GenerationRequest
    index: int
    position: int  # next cache position to write (= tokens in cache)
    pending: int  # sampled token not yet in the cache
    generator: torch.Generator | None
    constraint: Any = None  # this candidate's grammar state (tool_grammar.Constraint), if constrained
    error: str | None = None
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    top: list[list[tuple[int, float]]] = field(default_factory=list)


@dataclass
class _Remembered:
    """A cache slot holding the KV of a finished sequence, for prefix reuse."""

    slot: int
    tokens: list[int] = field(default_factory=list)
    last_used: int = 0


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Engine:
    def __init__(
        self,
        model: Llama,
        eos_ids: set[int],
        decode: Callable[[list[int]], str],
        max_slots: int = 16,
        prefix_slots: int = 4,
    ):
        self.model, self.eos_ids, self.decode = model, eos_ids, decode
        self.max_slots = max_slots
        # Slots 0..max_slots-1 hold the batch. Prompts are prefilled in the next
        # slot, then copied down, so a chunked prefill never collides with
        # sequences moving between slots as others finish. The last
        # `prefix_slots` keep finished sequences: an agent's next turn extends
        # its previous conversation, so its prompt prefix is already computed.
        self.prefill_slot = max_slots
        self.remembered = [_Remembered(max_slots + 1 + i) for i in range(prefix_slots)]
        self.cache = KVCache(model.cfg, max_slots + 1 + prefix_slots)
        self.prefix_hit_tokens = 0  # prompt tokens served from remembered sequences
        self.prefilled_tokens = 0  # prompt tokens actually run through the model
        self.active: list[_Sequence] = []  # active[i] lives in cache slot i
        self.waiting: deque[GenerationRequest] = deque()
        self.prefilling: GenerationRequest | None = None
        self._wake = threading.Condition()
        self._stopped = False
        self.steps = 0
        self.generated_tokens = 0
        self._eos_only: torch.Tensor | None = None  # the mask that allows only EOS
        self._thread = threading.Thread(target=self._run, name="agentforge-engine", daemon=True)
        self._thread.start()

    # ---- called from other threads ----

    def submit(self, request: GenerationRequest) -> None:
        if request.n > self.max_slots:
            raise ValueError(f"n={request.n} exceeds the engine's {self.max_slots} slots")
        if len(request.prompt_ids) >= self.model.cfg.max_positions:
            raise ValueError(
                f"prompt of {len(request.prompt_ids)} tokens does not fit the model's context of {self.model.cfg.max_positions}"
            )
        with self._wake:
            self.waiting.append(request)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # ---- the engine thread ----

    def _run(self) -> None:
        with torch.inference_mode():  # all cache tensors are created and updated in it
            self._loop()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and not self.active and not self.waiting and self.prefilling is None:
                    self._wake.wait()
                if self._stopped:
                    break
            try:
                self._prefill_chunk()
                if self.active:
                    self._decode_step()
            except Exception as e:  # keep serving: fail the affected requests, not the engine
                log.exception("engine step failed")
                self._fail_all(f"{type(e).__name__}: {e}")
        self._fail_all("engine stopped")

    def _free_slots(self) -> int:
        return self.max_slots - len(self.active)

    def _prefill_chunk(self) -> None:
        if self.prefilling is None:
            with self._wake:
                self._drop_cancelled_waiting()
                if not self.waiting or self.waiting[0].n > self._free_slots():
                    return
                self.prefilling = self.waiting.popleft()
        req = self.prefilling
        if req.cancelled:
            self.prefilling = None
            _finish_unstarted(req, "cancelled")
            return
        if req.prefilled == 0:
            self._reuse_prefix(req)
        start, end = req.prefilled, min(req.prefilled + PREFILL_CHUNK, len(req.prompt_ids))
        tokens = torch.tensor([req.prompt_ids[start:end]])
        positions = torch.arange(start, end).view(1, -1)
        logits = self.model.forward(tokens, positions, self.cache, torch.tensor([self.prefill_slot]))
        req.prefilled = end
        self.prefilled_tokens += end - start
        if end < len(req.prompt_ids):
            return
        # Prompt done: every candidate starts from the same cache, sampled independently.
        first = len(self.active)
        for i in range(req.n):
            self.cache.copy_slot(self.prefill_slot, first + i, end)
        seqs = []
        for i in range(req.n):
            seed = None if req.sampling.seed is None else req.sampling.seed + i
            gen = torch.Generator().manual_seed(seed) if seed is not None else None
            seqs.append(_Sequence(req, i, end, -1, gen, req.constraints[i] if req.constraints else None))
        self.active.extend(seqs)
        self.prefilling = None
        self._sample(seqs, logits.expand(req.n, -1))

    def _decode_step(self) -> None:
        seqs = self.active
        tokens = torch.tensor([[s.pending] for s in seqs])
        positions = torch.tensor([[s.position] for s in seqs])
        logits = self.model.forward(tokens, positions, self.cache, torch.arange(len(seqs)))
        for s in seqs:
            s.position += 1
        self.steps += 1
        self._sample(list(seqs), logits)

    def _sample(self, seqs: list[_Sequence], logits: torch.Tensor) -> None:
        """Pick each sequence's next token, record it, and retire finished ones.

        Constrained rows sample from the grammar-masked logits, but the recorded
        logprobs (sampled token and top-k alternatives) are the model's own,
        unmasked distribution: confidence-based selection (DeepConf) and RL
        need what the model believed, not what the grammar allowed. A token the
        grammar forced may therefore carry a low logprob, and the top-k may
        list tokens the grammar ruled out."""
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        chosen = sample_tokens(self._constrain(seqs, logits), [s.request.sampling for s in seqs], [s.generator for s in seqs])
        k = max(s.request.sampling.top_logprobs for s in seqs)
        top_vals, top_ids = torch.topk(logprobs, k, dim=-1) if k else (None, None)
        chosen_lp = logprobs.gather(1, chosen.view(-1, 1)).view(-1).tolist()
        chosen = chosen.tolist()
        done = []
        for row, s in enumerate(seqs):
            tok, lp = chosen[row], chosen_lp[row]
            kk = s.request.sampling.top_logprobs
            top = list(zip(top_ids[row, :kk].tolist(), top_vals[row, :kk].tolist())) if kk else []
            s.token_ids.append(tok)
            s.logprobs.append(lp)
            s.top.append(top)
            s.pending = tok
            self.generated_tokens += 1
            if s.constraint is not None and not s.constraint.consume(tok):  # cannot happen for a masked sample
                s.error = f"grammar rejected token {tok}: {s.constraint.error()}"
            if s.request.stream:
                s.request.emit(TokenEvent(s.index, tok, lp, top))
            reason, stop_at = self._finished(s)
            if reason:
                done.append((s, reason, stop_at))
        for s, reason, stop_at in done:
            self._retire(s, reason, stop_at)

    def _constrain(self, seqs: list[_Sequence], logits: torch.Tensor) -> torch.Tensor:
        """The logits to sample from: rows with a grammar keep only the tokens it
        allows, and only EOS once the grammar is complete and another tool call
        would not fit in the token budget (Constraint.should_end)."""
        rows = [r for r, s in enumerate(seqs) if s.constraint is not None]
        if not rows:
            return logits
        from agentforge.runtime.backends.tool_grammar import allowed_tokens

        allowed = allowed_tokens([seqs[r].constraint for r in rows], logits.shape[-1])
        for j, r in enumerate(rows):
            if seqs[r].constraint.should_end(self._budget_left(seqs[r])):
                allowed[j] = self._eos_mask(logits.shape[-1])
        if len(rows) == len(seqs):
            return torch.where(allowed, logits, _NEG_INF)
        out = logits.clone()
        out[rows] = torch.where(allowed, logits[rows], _NEG_INF)
        return out

    def _budget_left(self, s: _Sequence) -> int:
        """Tokens s may still generate, the one sampled now included."""
        return min(s.request.sampling.max_tokens - len(s.token_ids), self.model.cfg.max_positions - s.position)

    def _eos_mask(self, vocab: int) -> torch.Tensor:
        if self._eos_only is None or len(self._eos_only) != vocab:
            self._eos_only = torch.zeros(vocab, dtype=torch.bool)
            self._eos_only[[i for i in self.eos_ids if i < vocab]] = True
        return self._eos_only

    def _finished(self, s: _Sequence) -> tuple[str | None, int | None]:
        if s.request.cancelled:
            return "cancelled", None
        if s.error:
            return "error", None
        # A finished grammar allows only EOS, so a constrained turn ends here too.
        if s.pending in self.eos_ids:
            return "stop", None
        if s.request.sampling.stop:
            text = self.decode(s.token_ids)
            hits = [text.find(stop) for stop in s.request.sampling.stop if stop in text]
            if hits:
                return "stop", min(hits)
        if len(s.token_ids) >= s.request.sampling.max_tokens or s.position + 1 >= self.model.cfg.max_positions:
            return "length", None
        return None, None

    def _reuse_prefix(self, req: GenerationRequest) -> None:
        """Start the prefill after the longest prefix a remembered sequence shares."""
        best = max(self.remembered, key=lambda r: common_prefix(r.tokens, req.prompt_ids), default=None)
        if best is None:
            return
        # The last prompt token always runs: its logits give the first sample.
        shared = min(common_prefix(best.tokens, req.prompt_ids), len(req.prompt_ids) - 1)
        if shared >= PREFIX_MIN:
            self.cache.copy_slot(best.slot, self.prefill_slot, shared)
            req.prefilled = shared
            best.last_used = self.steps + 1
            self.prefix_hit_tokens += shared

    def _remember(self, s: _Sequence, slot: int) -> None:
        if not self.remembered:
            return
        tokens = s.request.prompt_ids + s.token_ids[:-1]  # those whose KV is in the slot
        # Replace an entry this sequence extends, else the least recently used one.
        target = next((r for r in self.remembered if r.tokens and common_prefix(r.tokens, tokens) == len(r.tokens)), None)
        target = target or min(self.remembered, key=lambda r: r.last_used)
        self.cache.copy_slot(slot, target.slot, len(tokens))
        target.tokens, target.last_used = tokens, self.steps + 1

    def _retire(self, s: _Sequence, reason: str, stop_at: int | None) -> None:
        """Remove s from the batch, moving the last sequence into its slot."""
        slot, last = self.active.index(s), len(self.active) - 1
        if reason in ("stop", "length"):
            self._remember(s, slot)
        if slot != last:
            moved = self.active[last]
            self.cache.copy_slot(last, slot, moved.position)
            self.active[slot] = moved
        self.active.pop()
        s.request.emit(
            FinishEvent(
                s.index, s.token_ids, s.logprobs, s.top, reason, len(s.request.prompt_ids), stop_text_len=stop_at, error=s.error
            )
        )

    def _drop_cancelled_waiting(self) -> None:
        for req in [r for r in self.waiting if r.cancelled]:
            self.waiting.remove(req)
            _finish_unstarted(req, "cancelled")

    def _fail_all(self, error: str) -> None:
        victims = list(self.active)
        self.active.clear()
        for s in victims:
            s.request.emit(FinishEvent(s.index, s.token_ids, s.logprobs, s.top, "error", len(s.request.prompt_ids), error=error))
        pending = ([self.prefilling] if self.prefilling else []) + list(self.waiting)
        self.prefilling = None
        self.waiting.clear()
        for req in pending:
            _finish_unstarted(req, "error", error)


def _finish_unstarted(req: GenerationRequest, reason: str, error: str | None = None) -> None:
    for i in range(req.n):
        req.emit(FinishEvent(i, [], [], [], reason, len(req.prompt_ids), error=error))


_NEG_INF = torch.tensor(float("-inf"))
TOP_CANDIDATES = 512  # top-p/top-k cut searched among this many tokens first


def sample_tokens(logits: torch.Tensor, specs: list[SamplingSpec], generators: list[torch.Generator | None]) -> torch.Tensor:
    """Sample one token per row with each row's temperature / top-k / top-p.

    Randomness per row comes from that row's generator, so a seeded request
    reproduces whatever else is in the batch. The top-p/top-k cut is found
    among the TOP_CANDIDATES most likely tokens (a full sort of the
    vocabulary per step costs more than the model's forward pass), falling
    back to the whole vocabulary when those do not reach top_p: exact either
    way. Whole-vocabulary work is done once for all rows (softmax, top-k);
    per-row work touches only the candidates.
    """
    out = logits.argmax(dim=-1)
    rows = [i for i, s in enumerate(specs) if s.temperature > 0]
    if not rows:
        return out
    temps = torch.tensor([specs[i].temperature for i in rows]).view(-1, 1)
    probs = torch.softmax(logits[rows] / temps, dim=-1)
    vocab = probs.shape[1]
    cut = [specs[i].top_p < 1.0 or specs[i].top_k > 0 for i in rows]
    if any(cut):
        cand_p, cand_idx = probs.topk(min(TOP_CANDIDATES, vocab), dim=-1)
    for j, i in enumerate(rows):
        spec, gen = specs[i], generators[i]
        if not cut[j]:
            out[i] = _draw(probs[j], gen)
            continue
        limit = spec.top_k if 0 < spec.top_k < vocab else vocab
        p, idx = cand_p[j, :limit], cand_idx[j, :limit]
        if len(p) < limit and float(p.sum()) < spec.top_p:
            p, idx = probs[j].topk(limit)  # a flat distribution: the cut lies deeper
        p = p * ((p.cumsum(0) - p) < spec.top_p)  # keep tokens while the mass above them is < top_p
        out[i] = idx[_draw(p, gen)]
    return out


def _draw(weights: torch.Tensor, gen: torch.Generator | None) -> int:
    """Index drawn with probability proportional to `weights` (inverse CDF:
    torch.multinomial over a 49k vocabulary takes ~30 ms on our CPUs).
    `right=True` never lands on a zero weight, even for u = 0 (a token a
    grammar masked out must never be drawn)."""
    cdf = weights.cumsum(0)
    u = torch.rand(1, generator=gen) * cdf[-1]
    i = int(torch.searchsorted(cdf, u, right=True))
    return i if i < len(weights) else int(torch.searchsorted(cdf, cdf[-1:]))  # u rounded up to the total


def submit_async(
    engine: Engine, prompt_ids: list[int], n: int, sampling: SamplingSpec, stream: bool, constraints: list[Any] | None = None
):
    """Submit from asyncio; returns (request, queue of events for this loop)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def emit(event: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, event)
        except RuntimeError:  # the loop is gone: nobody is waiting any more
            request.cancelled = True

    request = GenerationRequest(prompt_ids, n, sampling, emit, stream=stream, constraints=constraints)
    engine.submit(request)
    return request, queue

