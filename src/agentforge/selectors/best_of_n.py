"""Best-of-N as a model: `MODEL@best-of-N:SELECTOR` samples N candidates from
MODEL and answers with the one SELECTOR picks.

Any OpenAI client gets test-time scaling by choosing a model name, e.g.
`agentforge-8b@best-of-8:confidence` (Agent Confidence Select) or
`agentforge-8b@best-of-5:vote`. The N candidates come from one upstream
request with `n` where the backend supports it; `:deepconf` instead runs
DeepConf online (early_stop.py): a warm-up, then streams cancelled when
their confidence drops, and an end to sampling once the vote reaches 95%; tool calls work like text
(voting compares calls by name and arguments, order-free). How the choice was
made travels with the returned completion in `metadata["selection"]`, which
`agent serve` returns as the response's `agentforge.selection` field.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from agentforge.runtime.backends.base import Backend, stream_from_complete
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.selectors.candidate import Candidate, candidates_of, completion_answer  # noqa: F401  (completion_answer: part of this module's API)
from agentforge.selectors.confidence import mean_confidence, mean_logprob
from agentforge.selectors.registry import SCORES, SELECTORS, rank, select

VIRTUAL_MODEL = re.compile(r"^(?P<base>.+)@best-of-(?P<n>\d+):(?P<selector>[a-z0-9_]+)$")
NEEDS_NO_LOGPROBS = ("first", "vote")
EARLY_STOP = "deepconf"  # not a selector over a finished pool: sampling itself stops early
TOP_LOGPROBS = 20  # alternatives per token for the confidence selectors (DeepConf uses k = 20 or more)


class VirtualModelError(ValueError):
    pass


def parse_virtual_model(name: str, max_n: int = 64) -> tuple[str, int, str] | None:
    """(base model, N, selector) for a best-of-N name; None for an ordinary name.

    Raises VirtualModelError for a best-of-N name that cannot work (unknown
    selector, N out of range), with the fix in the message.
    """
    match = VIRTUAL_MODEL.match(name)
    if match is None:
        return None
    base, digits, selector = match["base"], match["n"].lstrip("0") or "0", match["selector"]
    shown = name if len(name) <= 100 else name[:100] + "..."
    usable = [*(s for s in SELECTORS if s != "oracle"), EARLY_STOP]  # the oracle needs the answer key
    if selector not in usable:
        raise VirtualModelError(f"unknown selector {selector!r} in {shown!r}; use one of {', '.join(usable)}")
    # int() of thousands of digits is slow, and refused past 4,300: no N that long is in range anyway
    n = int(digits) if len(digits) <= len(str(max_n)) else max_n + 1
    if not 1 <= n <= max_n:
        given = digits if len(digits) <= 20 else f"{digits[:20]}... ({len(digits)} digits)"
        raise VirtualModelError(f"best-of-{given} in {shown!r}: N must be between 1 and {max_n}")
    return base, n, selector


class BestOfN:
    """A Backend that answers with the selected one of N candidates from `inner`."""

    def __init__(self, inner: Backend, n: int, selector: str, name: str | None = None, owns_inner: bool = False):
        if (selector not in SELECTORS or selector == "oracle") and selector != EARLY_STOP:
            raise VirtualModelError(f"unknown selector {selector!r}")
        self.inner, self.n, self.selector, self.owns_inner = inner, n, selector, owns_inner
        self.name = name or f"{getattr(inner, 'name', 'model')}@best-of-{n}:{selector}"

    def _sampling(self, sampling: Sampling | None) -> Sampling:
        sampling = sampling or Sampling()
        if self.selector in NEEDS_NO_LOGPROBS:
            return sampling
        return sampling.merged(logprobs=True, top_logprobs=max(sampling.top_logprobs, TOP_LOGPROBS))

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        """The n best of N candidates (n > 1 needs a selector that ranks: vote or a score)."""
        if n > self.n:
            raise VirtualModelError(f"{self.name} returns at most {self.n} choices, not {n}")
        if n > 1 and self.selector != "vote" and self.selector not in SCORES:
            raise VirtualModelError(f"selector {self.selector!r} picks one candidate; ask for n=1 "
                                    "or use vote or a confidence score")
        if self.selector == EARLY_STOP:
            return [await self._early_stop(messages, tools, sampling)]
        pool = await self.inner.complete(messages, tools, self.n, self._sampling(sampling))
        candidates = candidates_of(pool)
        order = rank(candidates, self.selector)[:n] if n > 1 else [select(candidates, self.selector)]
        details = self._details(pool, candidates)
        chosen = []
        for i in order:
            c = pool[i].model_copy(deep=True)
            c.metadata = {**c.metadata, "selection": {**details, "chosen": i}}
            chosen.append(c)
        return chosen

    async def _early_stop(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None,
                          sampling: Sampling | None) -> Completion:
        from agentforge.selectors.early_stop import EarlyStop, sample_with_early_stop

        config = EarlyStop(warmup=min(self.n, max(2, -(-self.n // 4))), consensus=0.95)
        result = await sample_with_early_stop(self.inner, messages, tools, self.n, sampling, config)
        candidates = candidates_of(result.completions)
        details = {**self._details(result.completions, candidates), "stopped_early": result.stopped,
                   "completion_tokens": result.tokens, "threshold": round(result.threshold, 4)}
        chosen = result.chosen.model_copy(deep=True)
        chosen.metadata = {**chosen.metadata,
                           "selection": {**details, "chosen": result.completions.index(result.chosen)}}
        return chosen

    def _details(self, pool: Sequence[Completion], candidates: Sequence[Candidate]) -> dict[str, Any]:
        answers = [c.answer for c in candidates]
        return {
            "model": getattr(self.inner, "name", None), "n": self.n, "selector": self.selector,
            "votes": [answers.count(a) for a in answers],
            "confidence": [round(mean_confidence(c), 4) if c.token_confidences else None for c in candidates],
            "avg_logprob": [round(mean_logprob(c), 4) if c.token_logprobs else None for c in candidates],
            "completion_tokens": sum(c.usage.completion_tokens for c in pool),
        }

    def stream(self, messages, tools=None, n: int = 1, sampling: Sampling | None = None):
        # A selection needs every candidate finished: the chosen answer arrives in one piece.
        return stream_from_complete(self, messages, tools, n, sampling)

    async def aclose(self) -> None:
        if self.owns_inner:  # else the inner backend belongs to whoever made it
            await self.inner.aclose()
