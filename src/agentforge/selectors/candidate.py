"""A candidate for selection: one sampled trajectory reduced to what selectors read.

Harnesses build one `Candidate` per sample: its canonical answer (for voting),
the per-token signals of the tokens the agent generated (for the confidence
selectors) and, where known, whether it is correct (for the oracle and reports).

Token confidence (DeepConf) is computed in agentforge.runtime.token_signals,
where the agent loops record it. Klear-AgentForge's Agent Confidence Select
averages it over the agent's own generated tokens only (tool outputs and prompts are not generated, so they
never appear in a Completion's logprobs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from agentforge.runtime.messages import Completion
from agentforge.runtime.token_signals import candidate_signals, token_confidence

# completion_answer / candidates_of: a completion as a candidate (best-of-N and DeepConf online both need it)
__all__ = ["Candidate", "candidate_signals", "candidates_of", "completion_answer", "token_confidence"]


@dataclass
class Candidate:
    answer: str  # canonical answer for voting ("" = no answer); harnesses canonicalize
    token_logprobs: list[float]  # logprob of each agent-generated (chosen) token, all steps
    token_confidences: list[float]  # DeepConf token confidence per agent-generated token
    correct: bool | None = None  # known only to the oracle / reports
    text: str = ""  # what an LLM judge reads (the candidate's final answer / calls)
    # Trace-level scores computed once: reports re-select over thousands of
    # subsets and must not re-average long token lists each time. Candidates
    # are treated as immutable once built.
    _scores: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def score(self, name: str, compute: Callable[["Candidate"], float]) -> float:
        """`compute(self)`, memoized under `name`."""
        if name not in self._scores:
            self._scores[name] = compute(self)
        return self._scores[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "token_logprobs": self.token_logprobs,
            "token_confidences": self.token_confidences,
            "correct": self.correct,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Candidate":
        return cls(
            answer=d.get("answer", ""),
            token_logprobs=list(d.get("token_logprobs", [])),
            token_confidences=list(d.get("token_confidences", [])),
            correct=d.get("correct"),
            text=d.get("text", ""),
        )


def _normalized(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def completion_answer(c: Completion) -> str:
    """What votes compare: the tool calls (name + parsed arguments, unordered), else the text."""
    if c.tool_calls:
        calls = []
        for call in c.tool_calls:
            try:
                args = _normalized(json.loads(call.function.arguments or "{}"))
            except ValueError:
                args = call.function.arguments
            calls.append(json.dumps([call.function.name, args], sort_keys=True))
        return "calls:" + "|".join(sorted(calls))
    return "text:" + " ".join((c.content or c.text or "").split())


def candidates_of(completions: Sequence[Completion]) -> list[Candidate]:
    out = []
    for c in completions:
        logprobs, confidences = candidate_signals([c])
        out.append(Candidate(answer=completion_answer(c), token_logprobs=logprobs, token_confidences=confidences,
                             text=c.content or c.text))
    return out
