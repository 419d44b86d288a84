"""LLM-judge knockout tournament (the "LLM knockout" baseline of Klear-AgentForge,
arXiv 2511.05951; the tournament form follows Chen et al., "A Simple and
Provable Scaling Law for the Test-Time Compute of LLMs", arXiv 2411.19477).

Candidates meet in pairs; a judge model reads the task and both answers and
names the better one, A or B; winners meet again until one is left.

- Bracket (deterministic): each round pairs survivors in order, (0,1), (2,3), ...;
  an odd one out gets a bye. N candidates take N - 1 matches at most.
- Matches that need no judge: two candidates with the same canonical answer
  (the lower index goes on); an empty answer loses to a non-empty one.
- `comparisons` = K judge calls per match (Chen et al.'s K), alternating which
  candidate is shown as A to cancel the judge's position bias; the candidate
  with more votes goes on, a tie (including all-unparsable) to the lower index.
- Robust to the judge: a reply naming neither or both letters is no vote, so a
  judge that never answers degrades to "first".
  Backend errors propagate: the runner retries or records them.
- The matches of a round run concurrently.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Sequence

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Message, Sampling
from agentforge.selectors.candidate import Candidate

JUDGE_SYSTEM = (
    "You are a strict judge. You are shown a task and two candidate answers, A and B. "
    "Decide which candidate solves the task correctly. Reply with one letter: A or B."
)
# Greedy and short: the verdict is one letter. A thinking judge needs a larger max_tokens.
DEFAULT_JUDGE_SAMPLING = Sampling(temperature=0.0, max_tokens=32)

# Keywords in any case; the letter itself only in capitals ("the answer is a bit..." names nothing).
_NAMED = re.compile(r"(?i:answer|winner|choice|verdict|better|correct)(?:\s+(?i:is|one|candidate))*\s*[:=]?\s*[*(\[\"']*([AB])\b")
_LETTER = re.compile(r"(?<![A-Za-z])([AB])(?![A-Za-z])")
_LEADING = re.compile(r"([AB])(?:\s*$|\s*[.):,*\n])")  # "B", "B.", "**A**", "A)\n..." but not "A or B"


def judge_messages(question: str, a: Candidate, b: Candidate) -> list[Message]:
    user = (
        f"Task:\n{question}\n\n"
        f"Candidate A:\n{a.text or a.answer or '(no answer)'}\n\n"
        f"Candidate B:\n{b.text or b.answer or '(no answer)'}\n\n"
        "Which candidate is correct? Reply with A or B."
    )
    return [Message.system(JUDGE_SYSTEM), Message.user(user)]


def parse_verdict(reply: str) -> str | None:
    """'A', 'B' or None (unparsable). Tried in order: a named verdict
    ("Answer: B", "the better one is **A**"; the last one counts), a reply that
    starts with the letter alone ("B.", "**A**"), a reply that mentions exactly
    one of the letters."""
    named = _NAMED.findall(reply)
    if named:
        return named[-1]
    stripped = reply.strip().lstrip("*#([\"' ")
    m = _LEADING.match(stripped)
    if m:
        return m.group(1)
    letters = set(_LETTER.findall(reply))
    return letters.pop() if len(letters) == 1 else None


@dataclass
class Match:
    a: int  # candidate indices; a < b
    b: int
    winner: int
    votes: tuple[int, int] = (0, 0)  # judge votes for a and for b
    judged: bool = False  # False when decided without the judge


async def _judge_once(judge: Backend, question: str, first: Candidate, second: Candidate, sampling: Sampling) -> str | None:
    completions = await judge.complete(judge_messages(question, first, second), None, 1, sampling)
    reply = (completions[0].content or completions[0].text) if completions else ""
    return parse_verdict(reply or "")


async def _play(candidates: Sequence[Candidate], a: int, b: int, judge: Backend, question: str,
                sampling: Sampling, comparisons: int) -> Match:
    ca, cb = candidates[a], candidates[b]
    if ca.answer == cb.answer:
        return Match(a, b, a)
    if not ca.answer or not cb.answer:
        return Match(a, b, a if ca.answer else b)
    swaps = [j % 2 == 1 for j in range(comparisons)]  # odd comparisons show b as "A"
    verdicts = await asyncio.gather(*(
        _judge_once(judge, question, *((cb, ca) if swap else (ca, cb)), sampling) for swap in swaps
    ))
    for_a = sum(1 for v, swap in zip(verdicts, swaps) if v == ("B" if swap else "A"))
    for_b = sum(1 for v, swap in zip(verdicts, swaps) if v == ("A" if swap else "B"))
    return Match(a, b, b if for_b > for_a else a, (for_a, for_b), True)


async def knockout_matches(
    candidates: Sequence[Candidate], judge: Backend, question: str, sampling: Sampling | None = None,
    *, comparisons: int = 1,
) -> tuple[int, list[Match]]:
    """The winner's index and every match played, round by round."""
    if not candidates:
        raise ValueError("no candidates to select from")
    if comparisons < 1:
        raise ValueError("comparisons must be >= 1")
    sampling = sampling or DEFAULT_JUDGE_SAMPLING
    alive = list(range(len(candidates)))
    matches: list[Match] = []
    while len(alive) > 1:
        pairs = [(alive[i], alive[i + 1]) for i in range(0, len(alive) - 1, 2)]
        played = await asyncio.gather(*(_play(candidates, a, b, judge, question, sampling, comparisons) for a, b in pairs))
        matches.extend(played)
        bye = [alive[-1]] if len(alive) % 2 else []
        alive = [m.winner for m in played] + bye
    return alive[0], matches


async def knockout(candidates: Sequence[Candidate], judge: Backend, question: str, sampling: Sampling | None = None,
                   *, comparisons: int = 1) -> int:
    """Index of the tournament winner; `judge` is any runtime Backend."""
    winner, _ = await knockout_matches(candidates, judge, question, sampling, comparisons=comparisons)
    return winner
