"""BFCL v3: the official data, an execution environment for multi-turn entries,
and scoring that gives the official checker's verdict on every output.

- `data`: obtain the official files (pip-downloaded wheel, no hub), load entries/answers.
- `checker`: single-turn AST checks; `lang_literals`: Java/JS argument literals.
- `multi_turn`: `MultiTurnEnv` (backends the model's calls run against) and its checker.
- `score`: per-entry verdict dispatch and the leaderboard summary formula.
"""

from agentforge.harnesses.bfcl.checker import Verdict, check_ast
from agentforge.harnesses.bfcl.data import (
    CATEGORIES,
    GROUPS,
    bfcl_package_dir,
    expand_categories,
    functions_at_turn,
    load_answers,
    load_entries,
)
from agentforge.harnesses.bfcl.multi_turn import MAX_STEPS_PER_TURN, MultiTurnEnv
from agentforge.harnesses.bfcl.multi_turn_check import check_multi_turn
from agentforge.harnesses.bfcl.score import overall, score_entry

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "MAX_STEPS_PER_TURN",
    "MultiTurnEnv",
    "Verdict",
    "bfcl_package_dir",
    "check_ast",
    "check_multi_turn",
    "expand_categories",
    "functions_at_turn",
    "load_answers",
    "load_entries",
    "overall",
    "score_entry",
]
