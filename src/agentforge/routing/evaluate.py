"""Offline evaluation of routing: what each policy would score on tasks every specialist ran.

Choosing specialist s on a task scores that task's pass rate for s, so a
policy is evaluated without running any model again (only the llm policy
calls its meta-agent). The reference rows:
- each specialist alone;
- random: a uniform choice per request, as its exact expectation (the mean
  over specialists per task), not one noisy draw;
- oracle: the best specialist per task, the ceiling of any router.
Accuracy is the mean over tasks, overall and per category.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from agentforge.routing.features import request_features
from agentforge.routing.policy import Policy
from agentforge.routing.examples import Example


@dataclass
class MethodResult:
    name: str
    scores: list[float]  # per example, in the examples' order
    categories: list[str]
    chosen: Counter = field(default_factory=Counter)
    note: str = ""

    @property
    def accuracy(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    def per_category(self) -> dict[str, float]:
        groups: dict[str, list[float]] = {}
        for c, s in zip(self.categories, self.scores):
            groups.setdefault(c, []).append(s)
        return {c: sum(v) / len(v) for c, v in groups.items()}


def _static(name: str, examples: Sequence[Example], score: Callable[[Example], float], note: str = "") -> MethodResult:
    return MethodResult(name, [score(e) for e in examples], [e.category for e in examples], note=note)


def specialist_alone(name: str, examples: Sequence[Example]) -> MethodResult:
    return _static(name, examples, lambda e: e.outcomes[name], "specialist alone")


def random_expected(examples: Sequence[Example]) -> MethodResult:
    return _static("random", examples, lambda e: sum(e.outcomes.values()) / len(e.outcomes),
                   "uniform per request (expectation)")


def oracle(examples: Sequence[Example]) -> MethodResult:
    return _static("oracle", examples, lambda e: max(e.outcomes.values()), "best specialist per task")


async def policy_result(name: str, policy: Policy, examples: Sequence[Example]) -> MethodResult:
    result = MethodResult(name, [], [], note=f"{policy.kind} policy")
    for e in examples:
        decision = await policy.choose(e.messages, e.tools, e.features or request_features(e.messages, e.tools))
        result.scores.append(e.outcomes[decision.specialist])
        result.categories.append(e.category)
        result.chosen[decision.specialist] += 1
        if decision.details.get("fallback"):
            result.chosen["(fell back)"] += 1
    return result


async def evaluate(examples: Sequence[Example], policies: Mapping[str, Policy]) -> list[MethodResult]:
    """Every reference row, then each policy, on the same examples."""
    specialists = list(examples[0].outcomes) if examples else []
    rows = [specialist_alone(s, examples) for s in specialists]
    rows.append(random_expected(examples))
    for name, policy in policies.items():
        rows.append(await policy_result(name, policy, examples))
    rows.append(oracle(examples))
    return rows


def markdown_table(rows: Sequence[MethodResult]) -> str:
    categories = sorted({c for r in rows for c in r.categories})
    head = ["method", "what", "tasks", "accuracy %", *categories, "chosen"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        per = r.per_category()
        chosen = ", ".join(f"{k} {v}" for k, v in sorted(r.chosen.items())) if r.chosen else ""
        cells = [r.name, r.note, str(len(r.scores)), f"{100 * r.accuracy:.1f}",
                 *(f"{100 * per[c]:.1f}" if c in per else "" for c in categories), chosen]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
