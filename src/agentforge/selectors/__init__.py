"""Test-time scaling: score N candidate trajectories for one task and pick one.

Synchronous selectors live in `SELECTORS` (name -> `(candidates) -> index`);
the LLM-judge tournament is the async `knockout`.
"""

from agentforge.selectors.candidate import Candidate, candidate_signals, token_confidence
from agentforge.selectors.knockout import knockout
from agentforge.selectors.registry import SCORES, SELECTORS, best_by, rank, rank_by, select

__all__ = [
    "Candidate", "candidate_signals", "token_confidence", "knockout",
    "SCORES", "SELECTORS", "best_by", "rank", "rank_by", "select",
]
