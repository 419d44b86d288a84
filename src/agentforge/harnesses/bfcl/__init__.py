"""BFCL v3: the official data, an execution environment for multi-turn entries,
and scoring that gives the official checker's verdict on every output.

- `data`: obtain the official files (pip-downloaded wheel, no hub), load entries/answers.
- `checker`: single-turn AST checks; `lang_literals`: Java/JS argument literals.
- `multi_turn`: `MultiTurnEnv` (backends the model's calls run against); `multi_turn_check`: its checker.
- `score`: per-entry verdict dispatch and the leaderboard summary formula.
"""

from importlib import import_module

# The package's public names, imported on first use: `agent --help` imports the
# light `options` module of this package and should not load the checker and data.
_WHERE = {
    "Verdict": "checker", "check_ast": "checker",
    "CATEGORIES": "data", "GROUPS": "data", "bfcl_package_dir": "data", "expand_categories": "data",
    "functions_at_turn": "data", "load_answers": "data", "load_entries": "data",
    "MAX_STEPS_PER_TURN": "multi_turn", "MultiTurnEnv": "multi_turn", "check_multi_turn": "multi_turn_check",
    "overall": "score", "score_entry": "score",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
