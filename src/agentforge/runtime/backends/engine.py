"""Continuous-batching generation engine for the embedded model.

One background thread owns the model. Requests join the running batch
between decode steps and leave it the step they finish. Prompts are
prefilled in chunks, round robin among the requests prefilling, with a
decode step of the running batch after each chunk: a long prompt delays
neither running sequences nor a short prompt that arrives during it.
The n candidates of one request share a single prefill: its KV cache is
copied into n slots. Every step records the sampled token, its raw
log-probability and the top-k alternatives, so nothing is ever re-tokenized.

Memory: every KV cache is sized to what it holds, and all of them together
stay within a byte budget (kv_budget). Each prefilling request has its own
one-row cache; the batch cache has a row per running sequence (and per
candidate reserved by a prefilling request) and grows and shrinks with
them. When the budget is full, waiting requests wait; a running batch that
outgrows it first drops remembered prefixes, then preempts its newest
sequences, which are prefilled again later (their samples so far kept).
A prompt longer than the context, or too big for the budget even alone,
is refused at submit (ContextLengthError), before any prefill.

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
import time
from collections import deque
from typing import Any, Callable

import torch

from agentforge.runtime.backends.base import ContextLengthError
from agentforge.runtime.backends.engine_requests import FinishEvent, GenerationRequest, TokenEvent, PrefillJob, SequenceState
from agentforge.runtime.backends.llama import KVCache, Llama
from agentforge.runtime.backends.prefix_cache import GRANULE, PREFIX_MIN, PrefixCache, Remembered, common_prefix
from agentforge.runtime.backends.prefix_cache import granular as _granular
from agentforge.runtime.backends.sampling import SamplingSpec, sample_tokens

log = logging.getLogger(__name__)

PREFILL_CHUNK = 256  # prompt tokens per prefill call; bounds how long decoding pauses
DEFAULT_KV_BUDGET = 2 << 30  # bytes; raised to what one full-context sequence needs


class Engine:
    def __init__(
        self,
        model: Llama,
        eos_ids: set[int],
        decode: Callable[[list[int]], str],
        max_slots: int = 16,
        prefix_slots: int = 4,
        kv_budget: int | None = None,
    ):
        self.model, self.eos_ids, self.decode = model, eos_ids, decode
        self.max_slots, self.prefix_slots = max_slots, prefix_slots
        cfg = model.cfg
        self.position_bytes = KVCache.bytes_per_position(cfg)
        # The least that serves every valid request alone: one full-context
        # sequence in the batch, plus its one-row prefill cache.
        floor = 2 * _granular(cfg.max_positions) * self.position_bytes
        self.kv_budget = kv_budget or max(DEFAULT_KV_BUDGET, floor)
        if self.kv_budget < floor:
            raise ValueError(
                f"kv_budget of {_gb(self.kv_budget)} is too small for one {cfg.max_positions}-token sequence of this "
                f"model; give at least {_gb(floor)}"
            )
        self.batch = KVCache(cfg, 1, GRANULE)  # active[i] lives in row i
        self.prefixes = PrefixCache(cfg, prefix_slots, self.kv_budget // 4)
        self.prefix_hit_tokens = 0  # prompt tokens served from remembered sequences
        self.prefilled_tokens = 0  # prompt tokens actually run through the model
        self.preempted = 0  # sequences (or prefills) set back to make room
        self.active: list[SequenceState] = []
        self.waiting: deque[PrefillJob] = deque()
        self.prefilling: deque[PrefillJob] = deque()  # round robin: the head runs the next chunk
        self._prefill_lead = 0.0  # seconds prefill has run ahead of decoding
        self._wake = threading.Condition()
        self._stopped = False
        self.steps = 0
        self.generated_tokens = 0
        self._eos_only: torch.Tensor | None = None  # the mask that allows only EOS
        self.weights_version = 0  # bumped by each swap_weights (RL weight sync)
        self._next_model: tuple[Llama, int] | None = None
        self._thread = threading.Thread(target=self._run, name="agentforge-engine", daemon=True)
        self._thread.start()

    # ---- called from other threads ----

    def submit(self, request: GenerationRequest) -> None:
        """Queue a request; refuse at once one that could never run."""
        self.check(len(request.prompt_ids), request.n)
        with self._wake:
            self.waiting.append(PrefillJob(request, request.prompt_ids, request.n))
            self._wake.notify()

    def check(self, prompt_tokens: int, n: int) -> None:
        """Raise if n candidates of a prompt this long could never run here."""
        if n > self.max_slots:
            raise ValueError(f"n={n} exceeds the engine's {self.max_slots} slots")
        context = self.model.cfg.max_positions
        if prompt_tokens >= context:
            raise ContextLengthError(
                f"prompt is {prompt_tokens} tokens; this model's context is {context} tokens, and the prompt must "
                "leave room for at least one generated token: shorten the conversation"
            )
        alone = self._batch_bytes(n, prompt_tokens + 1) + _granular(prompt_tokens) * self.position_bytes
        if alone > self.kv_budget:
            raise ContextLengthError(
                f"n={n} candidates of a {prompt_tokens}-token prompt need {_gb(alone)} of KV cache; this engine's "
                f"budget is {_gb(self.kv_budget)}: ask for fewer candidates or shorten the prompt"
            )

    def swap_weights(self, model: Llama, version: int) -> None:
        """Run `model` from the engine's next step on (an RL weight sync).

        Sequences in flight keep going: their next tokens come from the new
        weights (each token's recorded logprob is from the weights that chose
        it; the trainer's importance weights correct for the mix). Remembered
        prefixes are forgotten, since their keys and values came from the old
        weights."""
        with self._wake:
            self._next_model = (model, version)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)

    def kv_bytes(self) -> int:
        """Bytes held by every KV cache of the engine (at most kv_budget, except
        for a moment while a resize copies one cache into another)."""
        prefills = tuple(self.prefilling)  # a snapshot: other threads may ask while the engine works
        return self.batch.nbytes + self.prefixes.nbytes + sum(p.cache.nbytes for p in prefills if p.cache is not None)

    # ---- the engine thread ----

    def _run(self) -> None:
        with torch.inference_mode():  # all cache tensors are created and updated in it
            self._loop()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while (not self._stopped and not self.active and not self.waiting and not self.prefilling
                       and self._next_model is None):
                    self._wake.wait()
                if self._stopped:
                    break
            try:
                self._apply_swap()
                self._admit()
                self._fit_batch()
                # Prefill and decoding share the time equally while sequences
                # run: decode (one step at least) until decoding has had as
                # long as the prefill chunks took. A new arrival ends the
                # turn early, so that its prefill can start.
                self._prefill_lead += self._prefill_chunk()
                while self.active:
                    self._apply_swap()
                    started = time.perf_counter()
                    self._fit_batch()
                    self._decode_step()
                    self._prefill_lead -= time.perf_counter() - started
                    if self._prefill_lead <= 0 or self.waiting:
                        break
                if not self.active or self._prefill_lead < 0:
                    self._prefill_lead = 0.0  # a prefill alone runs at full speed; no credit for decoding alone
            except Exception as e:  # keep serving: fail the affected requests, not the engine
                log.exception("engine step failed")
                self._fail_all(f"{type(e).__name__}: {e}")
        self._fail_all("engine stopped")

    def _apply_swap(self) -> None:
        with self._wake:
            swap, self._next_model = self._next_model, None
        if swap is not None:
            self.model, self.weights_version = swap
            self.prefixes = PrefixCache(self.model.cfg, self.prefix_slots, self.kv_budget // 4)

    # ---- memory ----

    def _batch_bytes(self, rows: int, length: int) -> int:
        return _pow2(rows) * _granular(length) * self.position_bytes

    def _batch_need(self) -> tuple[int, int]:
        """Rows and positions the batch cache must hold: every active sequence
        (writing its next position this step) and the candidates of every
        prefilling request, reserved so that they can start."""
        rows = len(self.active) + sum(p.rows for p in self.prefilling)
        length = max([s.position + 1 for s in self.active] + [len(p.tokens) + 1 for p in self.prefilling], default=1)
        return rows, length

    def _fit_batch(self) -> None:
        """Resize the batch cache when it is too small, holds over 4x what it
        needs (not every time a sequence leaves: copies cost), or the budget is
        exceeded. Room comes from remembered prefixes, then preemption."""
        while True:
            rows, length = self._batch_need()
            want = self._batch_bytes(rows, length)
            grow = _pow2(rows) > self.batch.slots or _granular(length) > self.batch.capacity
            over = self.kv_bytes() - self.batch.nbytes + max(want, 0 if grow else self.batch.nbytes) > self.kv_budget
            if not grow and not over and 4 * want > self.batch.nbytes:
                return
            if self.kv_bytes() - self.batch.nbytes + want <= self.kv_budget:
                break
            if not (self.prefixes.forget_one() or self._preempt()):
                break  # one sequence alone always fits (submit checked), so this is never reached
        keep = (len(self.active), min(self.batch.capacity, _granular(length)))
        self.batch.resize(_pow2(rows), _granular(length), keep=keep)

    def _preempt(self) -> bool:
        """Set back the newest work: a prefilling request, else the last running
        sequence (never the only one). Its prefill runs again later."""
        if self.prefilling:
            job = self.prefilling.pop()
            job.cache, job.done = None, 0
        elif len(self.active) > 1:
            s = self.active.pop()  # the last row: nothing moves
            job = PrefillJob(s.request, s.request.prompt_ids + s.token_ids[:-1], 1, resume=s)
        else:
            return False
        with self._wake:
            self.waiting.appendleft(job)
        self.preempted += 1
        return True

    def _admit(self) -> None:
        """Start prefilling waiting requests, in order, while slots and budget allow."""
        while (job := self._admissible()) is not None:
            job.cache = KVCache(self.model.cfg, 1, _granular(len(job.tokens)))
            prefix = self.prefixes.best(job.tokens)
            if prefix is not None:
                self._reuse_prefix(job, prefix)
            self.prefilling.appendleft(job)  # its first chunk next: a short prompt is done at once

    def _admissible(self) -> PrefillJob | None:
        """Pop the first waiting request if it can start now, making room by
        forgetting prefixes (not the one it will reuse)."""
        with self._wake:
            while self.waiting and self.waiting[0].request.cancelled:
                _finish_job(self.waiting.popleft(), "cancelled")
            if not self.waiting:
                return None
            job = self.waiting[0]
            rows, length = self._batch_need()
            if rows + job.rows > self.max_slots:
                return None
            keep = self.prefixes.best(job.tokens)
            batch = max(self.batch.nbytes, self._batch_bytes(rows + job.rows, max(length, len(job.tokens) + 1)))
            need = lambda: self.kv_bytes() - self.batch.nbytes + batch + _granular(len(job.tokens)) * self.position_bytes  # noqa: E731
            while need() > self.kv_budget and self.prefixes.forget_one(keep=keep):
                pass
            if need() > self.kv_budget:
                return None  # it waits for running work to finish
            return self.waiting.popleft()

    # ---- prefill and decode ----

    def _prefill_chunk(self) -> float:
        """Run the next prefill chunk; returns the seconds it took."""
        if not self.prefilling:
            return 0.0
        job = self.prefilling[0]
        if job.request.cancelled:
            self.prefilling.popleft()
            _finish_job(job, "cancelled")
            return 0.0
        started = time.perf_counter()
        start, end = job.done, min(job.done + PREFILL_CHUNK, len(job.tokens))
        tokens = torch.tensor([job.tokens[start:end]])
        positions = torch.arange(start, end).view(1, -1)
        logits = self.model.forward(tokens, positions, job.cache, torch.tensor([0]))
        job.done = end
        self.prefilled_tokens += end - start
        self.prefilling.rotate(-1)  # the next request's chunk comes next
        if end == len(job.tokens):
            self.prefilling.pop()
            self._start(job, logits)
        return time.perf_counter() - started

    def _start(self, job: PrefillJob, logits: torch.Tensor) -> None:
        """Move a finished prefill into the batch (its rows were reserved)."""
        first, end = len(self.active), len(job.tokens)
        for i in range(job.rows):
            self.batch.copy_slot(0, first + i, end, source=job.cache)
        job.cache = None
        if job.resume is not None:  # its next token was sampled before it was preempted
            job.resume.position = end
            self.active.append(job.resume)
            return
        req = job.request
        seqs = []
        for i in range(req.n):
            seed = None if req.sampling.seed is None else req.sampling.seed + i
            gen = torch.Generator().manual_seed(seed) if seed is not None else None
            seqs.append(SequenceState(req, i, end, -1, gen, req.constraints[i] if req.constraints else None))
        self.active.extend(seqs)
        self._sample(seqs, logits.expand(req.n, -1))

    def _decode_step(self) -> None:
        seqs = self.active
        tokens = torch.tensor([[s.pending] for s in seqs])
        positions = torch.tensor([[s.position] for s in seqs])
        logits = self.model.forward(tokens, positions, self.batch, torch.arange(len(seqs)))
        for s in seqs:
            s.position += 1
        self.steps += 1
        self._sample(list(seqs), logits)

    def _sample(self, seqs: list[SequenceState], logits: torch.Tensor) -> None:
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

    def _constrain(self, seqs: list[SequenceState], logits: torch.Tensor) -> torch.Tensor:
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

    def _budget_left(self, s: SequenceState) -> int:
        """Tokens s may still generate, the one sampled now included."""
        return min(s.request.sampling.max_tokens - len(s.token_ids), self.model.cfg.max_positions - s.position)

    def _eos_mask(self, vocab: int) -> torch.Tensor:
        if self._eos_only is None or len(self._eos_only) != vocab:
            self._eos_only = torch.zeros(vocab, dtype=torch.bool)
            self._eos_only[[i for i in self.eos_ids if i < vocab]] = True
        return self._eos_only

    def _finished(self, s: SequenceState) -> tuple[str | None, int | None]:
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

    def _reuse_prefix(self, job: PrefillJob, best: Remembered) -> None:
        """Start the prefill after the prefix a remembered sequence shares."""
        # The last token always runs: its logits give the first sample.
        shared = min(common_prefix(best.tokens, job.tokens), len(job.tokens) - 1)
        if shared >= PREFIX_MIN:
            job.cache.copy_slot(0, 0, shared, source=best.cache)
            job.done = shared
            best.last_used = self.steps + 1
            self.prefix_hit_tokens += shared

    def _retire(self, s: SequenceState, reason: str, stop_at: int | None) -> None:
        """Remove s from the batch, moving the last sequence into its slot."""
        slot, last = self.active.index(s), len(self.active) - 1
        if reason in ("stop", "length"):
            tokens = s.request.prompt_ids + s.token_ids[:-1]  # those whose KV is in the slot
            self.prefixes.remember(tokens, self.batch, slot, self.kv_budget - self.kv_bytes(), self.steps + 1)
        if slot != last:
            moved = self.active[last]
            self.batch.copy_slot(last, slot, moved.position)
            self.active[slot] = moved
        self.active.pop()
        self._fit_batch()  # what it held is given back before its caller hears it finished
        s.request.emit(
            FinishEvent(
                s.index, s.token_ids, s.logprobs, s.top, reason, len(s.request.prompt_ids), stop_text_len=stop_at, error=s.error
            )
        )

    def _fail_all(self, error: str) -> None:
        victims = list(self.active)
        self.active.clear()
        for s in victims:
            s.request.emit(FinishEvent(s.index, s.token_ids, s.logprobs, s.top, "error", len(s.request.prompt_ids), error=error))
        with self._wake:
            pending = list(self.prefilling) + list(self.waiting)
            self.prefilling.clear()
            self.waiting.clear()
        for job in pending:
            _finish_job(job, "error", error)


def _finish_job(job: PrefillJob, reason: str, error: str | None = None) -> None:
    """End a request that is not running: all its candidates, or the one preempted sequence."""
    job.cache = None
    s, req = job.resume, job.request
    if s is not None:
        req.emit(FinishEvent(s.index, s.token_ids, s.logprobs, s.top, reason, len(req.prompt_ids), error=error))
        return
    for i in range(req.n):
        req.emit(FinishEvent(i, [], [], [], reason, len(req.prompt_ids), error=error))


def _pow2(rows: int) -> int:
    """Batch rows come in powers of two: a sequence joining rarely means a copy."""
    return 1 << max(rows - 1, 0).bit_length()


def _gb(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB"


_NEG_INF = torch.tensor(float("-inf"))


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

