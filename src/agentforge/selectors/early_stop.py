"""DeepConf online (Fu et al., arXiv 2508.15260, sec. 3.2), done client-side.

Sample `warmup` candidates to the end; their lowest sliding-window group
confidences set a stopping threshold s (DeepConf-low: the (100-eta)-th
percentile with eta = 10%, keeping only traces as sure as the top 10%;
DeepConf-high: eta = 90%). The other candidates stream, one request each, and
are cancelled as soon as the mean confidence of their last `window` tokens
falls below s. With `consensus` set (DeepConf's adaptive sampling, tau),
sampling also ends once the confidence-weighted vote of the finished
candidates gives one answer at least that share of the weight: right after
the warm-up, or as soon as enough survivors agree; the streams still running
are cancelled. The answer is a confidence-weighted vote among the warm-up
candidates and the survivors. No engine change: cancelling a stream is all it
takes (the embedded engine and vLLM both stop decoding a closed request).
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Sequence

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.selectors.candidate import candidates_of, token_confidence
from agentforge.selectors.confidence import lowest_group_confidence, mean_confidence
from agentforge.selectors.voting import percentile, weighted_vote

TOP_LOGPROBS = 20


@dataclass
class EarlyStop:
    warmup: int = 4  # candidates run to the end to calibrate the threshold
    keep_percent: float = 10.0  # eta: DeepConf-low 10, DeepConf-high 90
    window: int = 16  # tokens per sliding group (DeepConf: 2048 for long reasoning; tool calls are short)
    consensus: float | None = None  # tau: stop once one answer holds this share of the vote (DeepConf: 0.95)


@dataclass
class EarlyStopResult:
    chosen: Completion
    completions: list[Completion]  # warm-up candidates and survivors, in sampling order
    stopped: int  # candidates cancelled early
    threshold: float
    tokens: int  # generated tokens, cancelled candidates' included
    tokens_by_candidate: list[int] = field(default_factory=list)


async def sample_with_early_stop(backend: Backend, messages: Sequence[Message], tools: Sequence[ToolSpec] | None,
                                 n: int, sampling: Sampling | None = None,
                                 config: EarlyStop | None = None) -> EarlyStopResult:
    config = config or EarlyStop()
    if not 1 <= config.warmup <= n:
        raise ValueError(f"warmup must be between 1 and n ({n})")
    sampling = (sampling or Sampling()).merged(logprobs=True,
                                               top_logprobs=max((sampling or Sampling()).top_logprobs, TOP_LOGPROBS))
    warm = await backend.complete(messages, tools, config.warmup, sampling)
    lowest = [lowest_group_confidence(c, config.window) for c in candidates_of(warm)]
    threshold = percentile(lowest, 100.0 - config.keep_percent)
    base_seed = sampling.seed if sampling.seed is not None else 0

    async def streamed(i: int, tokens: list[int]) -> Completion | None:
        """The finished completion, or None if cancelled; tokens[i] counts what it generated."""
        recent: deque[float] = deque(maxlen=config.window)
        one = sampling.merged(seed=base_seed + 1_000_003 * (i + 1))  # distinct from the warm-up request's seeds
        async with aclosing(backend.stream(messages, tools, 1, one)) as events:
            async for event in events:
                if event.completion is not None:
                    tokens[i] = event.completion.usage.completion_tokens
                    return event.completion
                if event.logprob is None:
                    continue
                tokens[i] += 1
                tops = [t.logprob for t in event.logprob.top] or [event.logprob.logprob]
                recent.append(token_confidence(tops))
                if len(recent) == config.window and sum(recent) / config.window < threshold:
                    return None  # leaving the `async with` closes the stream: decoding stops
        return None

    streams = n - config.warmup
    tokens_so_far = [0] * streams
    finished: list[Completion | None] = [None] * streams
    if streams and not _agreed(warm, config.consensus):
        tasks = [asyncio.create_task(streamed(i, tokens_so_far)) for i in range(streams)]
        index = {t: i for i, t in enumerate(tasks)}
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    finished[index[t]] = t.result()
                if _agreed([*warm, *(c for c in finished if c is not None)], config.consensus):
                    break
        finally:
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    survivors = [c for c in finished if c is not None]
    pool = [*warm, *survivors]
    chosen = pool[weighted_vote(candidates_of(pool), top_percent=1.0)]
    per_candidate = [c.usage.completion_tokens for c in warm] + tokens_so_far
    return EarlyStopResult(chosen=chosen, completions=pool, stopped=streams - len(survivors),
                           threshold=threshold, tokens=sum(per_candidate), tokens_by_candidate=per_candidate)


def _agreed(pool: Sequence[Completion], tau: float | None) -> bool:
    """Does one answer hold at least tau of the confidence-weighted vote?"""
    if tau is None or not pool:
        return False
    weight: dict[str, float] = {}
    for c in candidates_of(pool):
        weight[c.answer] = weight.get(c.answer, 0.0) + (mean_confidence(c) if c.token_confidences else 1.0)
    total = sum(weight.values())
    return total > 0 and max(weight.values()) / total >= tau
