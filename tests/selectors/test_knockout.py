"""LLM-judge knockout tournament.

The judge here is a tiny fake Backend of this file (`ScoreJudge`): it reads the
two candidate texts out of the judge prompt and prefers the one with the higher
"q=" number, answering in a configurable style. One test uses the shared
EchoBackend test double (it only echoes the prompt, so every verdict is
unparsable), and one optional test uses the real embedded model.
"""

import re

import pytest

from agentforge.runtime.messages import Completion, Sampling
from agentforge.selectors.candidate import Candidate
from agentforge.selectors.knockout import knockout, knockout_matches, parse_verdict
from tests.fakes.echo_backend import EchoBackend


class ScoreJudge:
    name = "score-judge"

    def __init__(self, style: str = "Answer: {}", always: str | None = None):
        self.style = style
        self.always = always  # answer this letter whatever it reads (a position-biased judge)
        self.prompts: list[str] = []

    async def complete(self, messages, tools=None, n=1, sampling=None):
        prompt = messages[-1].content
        self.prompts.append(prompt)
        qa, qb = (int(x) for x in re.findall(r"Candidate [AB]:\nq=(\d+)", prompt))
        letter = self.always or ("A" if qa >= qb else "B")
        return [Completion(text=self.style.format(letter))]

    async def aclose(self):
        pass


def cands(qualities: list[int], answers: list[str] | None = None) -> list[Candidate]:
    answers = answers or [f"ans{i}" for i in range(len(qualities))]
    return [Candidate(answer=a, token_logprobs=[], token_confidences=[], text=f"q={q}") for q, a in zip(qualities, answers)]


@pytest.mark.parametrize("reply, verdict", [
    ("A", "A"), ("B.", "B"), ("**B**", "B"), ("Answer: B", "B"), ("The better one is A", "A"),
    ("I think candidate B is right", "B"), ("Candidate A is wrong, the correct answer is B", "B"),
    ("A. Candidate B misses a parameter.", "A"), ("A or B", None), ("The answer is a bit unclear.", None), ("neither", None), ("", None), ("Both look fine.", None),
])
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict


async def test_best_candidate_wins_through_the_bracket():
    judge = ScoreJudge()
    winner, matches = await knockout_matches(cands([1, 5, 3, 7, 2]), judge, "task?")
    assert winner == 3
    # round 1: (0,1) (2,3), 4 has a bye; round 2: (1,3), 4 has a bye; final (3,4)
    assert [(m.a, m.b, m.winner) for m in matches] == [(0, 1, 1), (2, 3, 3), (1, 3, 3), (3, 4, 3)]
    assert len(judge.prompts) == 4 == len(cands([1, 5, 3, 7, 2])) - 1
    assert all("task?" in p for p in judge.prompts)


async def test_knockout_returns_the_winner_index():
    assert await knockout(cands([9, 1, 1, 1]), ScoreJudge(style="**{}**"), "q") == 0
    assert await knockout(cands([1, 1, 1, 9]), ScoreJudge(style="{}"), "q") == 3
    assert await knockout(cands([4]), ScoreJudge(), "q") == 0


async def test_unparsable_judge_degrades_to_first():
    judge = ScoreJudge(style="I cannot decide ({} maybe, or not)".replace("{}", "A or B"))
    assert await knockout(cands([1, 9, 5, 7]), judge, "q") == 0


async def test_matches_without_judge():
    judge = ScoreJudge()
    # same canonical answer: the lower index goes on without asking; empty answer loses
    winner, matches = await knockout_matches(cands([1, 9, 5], answers=["x", "x", ""]), judge, "q")
    assert winner == 0
    assert judge.prompts == []
    assert [m.judged for m in matches] == [False, False]


async def test_position_bias_cancels_with_two_comparisons():
    # A judge that always says "A": with one comparison it always keeps the first
    # shown; with K=2 and swapped order each side gets one vote -> tie -> lower index.
    always_a = ScoreJudge(always="A")
    winner, matches = await knockout_matches(cands([1, 9]), always_a, "q", comparisons=2)
    assert winner == 0 and matches[0].votes == (1, 1)
    # an honest judge wins both orders
    winner, matches = await knockout_matches(cands([1, 9]), ScoreJudge(), "q", comparisons=2)
    assert winner == 1 and matches[0].votes == (0, 2)
    with pytest.raises(ValueError):
        await knockout(cands([1, 2]), ScoreJudge(), "q", comparisons=0)


async def test_echo_backend_judge_is_unparsable_and_harmless():
    # EchoBackend replies "echo[0]: <the prompt>", which names both A and B.
    echo = EchoBackend()
    assert await knockout(cands([1, 9, 5]), echo, "which call?") == 0
    assert len(echo.calls) == 2
    assert echo.calls[0]["sampling"].temperature == 0.0


async def test_sampling_is_passed_to_the_judge():
    echo = EchoBackend()
    await knockout(cands([1, 2]), echo, "q", sampling=Sampling(temperature=0.3, max_tokens=7))
    assert echo.calls[0]["sampling"].max_tokens == 7


@pytest.mark.model
async def test_embedded_model_as_judge(embedded):
    # The 135M model is no real judge; this checks the plumbing end to end.
    candidates = cands([1, 2, 3], answers=["add(1, 2)", "add(2, 1)", "sub(1, 2)"])
    for cnd, t in zip(candidates, ["add(a=1, b=2)", "add(a=2, b=1)", "sub(a=1, b=2)"]):
        cnd.text = t
    winner, matches = await knockout_matches(candidates, embedded, "Add 1 and 2 with the add tool.")
    assert winner in (0, 1, 2)
    assert all(m.judged for m in matches) and len(matches) == 2
