"""The rule policy: an ordered list of conditions on features; the first that holds wins.

Written in a router file as

    [policy]
    kind = "rule"
    default = "caller"
    rules = [
      { when = "desc_overlap < 0.2", use = "chatter" },
      { when = "conjunctions >= 1 and n_tools >= 2", use = "caller" },
    ]

A condition is `FEATURE OP NUMBER` (OP one of < <= > >= == !=), several joined
by `and`. Feature and specialist names are checked when the file is loaded,
so a typo fails at startup, not on the first request.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from agentforge.routing.features import FEATURES
from agentforge.routing.policy import Decision, RoutingError, check_names

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}
_CLAUSE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$")


@dataclass(frozen=True)
class Clause:
    feature: str
    op: str
    value: float

    def holds(self, features: dict[str, float]) -> bool:
        return OPS[self.op](features[self.feature], self.value)


@dataclass(frozen=True)
class Rule:
    when: str
    use: str
    clauses: tuple[Clause, ...]

    def holds(self, features: dict[str, float]) -> bool:
        return all(c.holds(features) for c in self.clauses)


def parse_condition(text: str) -> tuple[Clause, ...]:
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.match(part)
        if match is None:
            raise RoutingError(f"rule condition {text!r}: cannot read {part!r}; write FEATURE OP NUMBER "
                               f"(OP one of {' '.join(OPS)}), several joined by 'and'")
        feature, op, value = match.groups()
        if feature not in FEATURES:
            raise RoutingError(f"rule condition {text!r}: unknown feature {feature!r}; "
                               f"features: {', '.join(FEATURES)}")
        clauses.append(Clause(feature, op, float(value)))
    return tuple(clauses)


class RulePolicy:
    kind = "rule"

    def __init__(self, specialists: Sequence[str], rules: Sequence[tuple[str, str]], default: str):
        """`rules`: (condition, specialist) pairs, tried in order."""
        self.specialists = tuple(specialists)
        check_names([default, *(use for _, use in rules)], self.specialists, "rule policy")
        self.default = default
        self.rules = [Rule(when, use, parse_condition(when)) for when, use in rules]

    async def choose(self, messages, tools, features) -> Decision:
        for i, rule in enumerate(self.rules):
            if rule.holds(features):
                return Decision(rule.use, self.kind, f"rule {i + 1}: {rule.when}", {"rule": i + 1})
        return Decision(self.default, self.kind, "no rule matched: default", {"rule": None})
