"""DeepConf online early stopping against a scripted streaming model (a test
double: only a script can make a candidate's confidence collapse on cue) and,
once, the real embedded model."""

from __future__ import annotations

import pytest

from agentforge.runtime.backends.base import StreamEvent
from agentforge.runtime.messages import Completion, Message, Sampling, TokenLogprob, TopLogprob, Usage
from agentforge.selectors.early_stop import EarlyStop, sample_with_early_stop

SURE = [TopLogprob(token="a", logprob=-0.01), TopLogprob(token="b", logprob=-6.0)]  # confidence 3.005
UNSURE = [TopLogprob(token="a", logprob=-0.7), TopLogprob(token="b", logprob=-0.7)]  # confidence 0.7


class Scripted:
    """Warm-up candidates are sure; streamed ones are unsure when their seed is odd."""

    name = "scripted"

    def __init__(self, length: int = 40):
        self.length = length
        self.closed_early = 0
        self.finished = 0

    def _completion(self, text: str, tops) -> Completion:
        lps = [TokenLogprob(token="a", logprob=tops[0].logprob, top=tops) for _ in range(self.length)]
        return Completion(text=text, content=text, logprobs=lps,
                          usage=Usage(prompt_tokens=5, completion_tokens=self.length, total_tokens=5 + self.length))

    async def complete(self, messages, tools=None, n=1, sampling=None):
        return [self._completion("right", SURE) for _ in range(n)]

    async def stream(self, messages, tools=None, n=1, sampling=None):
        unsure = (sampling.seed // 1_000_003) % 2 == 1
        tops = UNSURE if unsure else SURE
        done = False
        try:
            for _ in range(self.length):
                yield StreamEvent(text="x", logprob=TokenLogprob(token="a", logprob=tops[0].logprob, top=tops))
            done = True
            self.finished += 1
            yield StreamEvent(completion=self._completion("wrong" if unsure else "right", tops))
        finally:
            if not done:
                self.closed_early += 1

    async def aclose(self):
        pass


async def test_unsure_candidates_are_cancelled_after_one_window():
    backend = Scripted(length=40)
    result = await sample_with_early_stop(backend, [Message.user("q")], None, n=8,
                                          sampling=Sampling(seed=0), config=EarlyStop(warmup=2, window=10))
    # streamed candidates 0..5 get seeds 1..6 x 1_000_003: odd ones (1, 3, 5) are unsure
    assert result.stopped == 3 and backend.closed_early == 3 and backend.finished == 3
    assert result.tokens_by_candidate == [40, 40, 10, 40, 10, 40, 10, 40]
    assert result.tokens == 230 < 8 * 40
    assert result.chosen.content == "right" and len(result.completions) == 5
    assert result.threshold == pytest.approx(3.005)


async def test_nothing_is_stopped_when_every_candidate_is_sure():
    class AllSure(Scripted):
        async def stream(self, messages, tools=None, n=1, sampling=None):
            async for event in super().stream(messages, tools, n, sampling.merged(seed=0)):
                yield event

    backend = AllSure(length=12)
    result = await sample_with_early_stop(backend, [Message.user("q")], None, n=4, config=EarlyStop(warmup=2, window=4))
    assert result.stopped == 0 and result.tokens == 48 and len(result.completions) == 4


async def test_agreeing_warmup_ends_sampling_at_once_with_consensus():
    backend = Scripted(length=20)
    result = await sample_with_early_stop(backend, [Message.user("q")], None, n=8, sampling=Sampling(seed=0),
                                          config=EarlyStop(warmup=2, window=5, consensus=0.95))
    assert backend.finished == backend.closed_early == 0  # no stream was even opened
    assert result.tokens == 40 and result.stopped == 6 and result.chosen.content == "right"


async def test_consensus_among_finished_candidates_cancels_the_slow_rest():
    import asyncio

    class Split(Scripted):
        """Warm-up disagrees (right/left); streams 0 and 1 are fast and say right, the rest are slow."""

        async def complete(self, messages, tools=None, n=1, sampling=None):
            return [self._completion("right", SURE), self._completion("left", SURE)][:n]

        async def stream(self, messages, tools=None, n=1, sampling=None):
            slow = sampling.seed // 1_000_003 > 2
            async for event in super().stream(messages, tools, n, sampling.merged(seed=0)):
                await asyncio.sleep(0.05 if slow else 0.001)
                yield event

    backend = Split(length=20)
    result = await sample_with_early_stop(backend, [Message.user("q")], None, n=8, sampling=Sampling(seed=0),
                                          config=EarlyStop(warmup=2, window=5, consensus=0.7))
    # right, left, right (2/3 < 0.7), right (3/4 >= 0.7): the four slow streams are cancelled
    assert backend.finished == 2 and backend.closed_early == 4 and result.stopped == 4
    assert result.chosen.content == "right" and len(result.completions) == 4
    assert result.tokens_by_candidate[:4] == [20, 20, 20, 20] and all(t < 20 for t in result.tokens_by_candidate[4:])
    assert result.tokens == sum(result.tokens_by_candidate)


async def test_bad_warmup_is_refused():
    with pytest.raises(ValueError, match="warmup"):
        await sample_with_early_stop(Scripted(), [Message.user("q")], None, n=2, config=EarlyStop(warmup=3))


@pytest.mark.model
async def test_real_model_runs_and_accounts_tokens(embedded):
    result = await sample_with_early_stop(embedded, [Message.user("Name a fruit.")], None, n=4,
                                          sampling=Sampling(temperature=1.0, max_tokens=24, seed=1),
                                          config=EarlyStop(warmup=2, window=4, keep_percent=50))
    assert 2 <= len(result.completions) <= 4 and result.stopped == 4 - len(result.completions)
    assert result.tokens == sum(result.tokens_by_candidate) and all(0 < t <= 24 for t in result.tokens_by_candidate)
    assert result.chosen in result.completions
