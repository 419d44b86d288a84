"""BFCL v3 data: obtained from the official `bfcl-eval` wheel, prepared as the official runner prepares it.

The wheel (`bfcl-eval==2025.6.16` is v3) holds the test entries, the possible
answers, the multi-turn function docs and the multi-turn backends (Python
classes). Its pinned dependencies are heavy, so we never install it: pip
downloads the wheel alone into the user cache and we unzip it once. Nothing
from the wheel runs except the backend classes, which are the multi-turn
environment's data (they import only the standard library and mpmath).
"""

from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path

from agentforge.harnesses.official_wheel import OfficialWheel

BFCL_VERSION = "2025.6.16"
WHEEL = OfficialWheel("bfcl-eval", BFCL_VERSION, cache_name="bfcl", package="bfcl_eval", marker="data",
                      env_var="AGENTFORGE_BFCL_WHEEL")

# The 17 v3 categories, in the leaderboard's order.
CATEGORIES: tuple[str, ...] = (
    "simple",
    "irrelevance",
    "parallel",
    "multiple",
    "parallel_multiple",
    "java",
    "javascript",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
_MULTI_TURN = CATEGORIES[13:]
_LIVE = CATEGORIES[7:13]
_NON_LIVE = CATEGORIES[:7]

# The official collection names (`bfcl generate --test-category <name>`).
GROUPS: dict[str, tuple[str, ...]] = {
    "all": CATEGORIES,
    "single_turn": _NON_LIVE + _LIVE,
    "non_live": _NON_LIVE,
    "live": _LIVE,
    "multi_turn": _MULTI_TURN,
    "ast": _NON_LIVE + _LIVE,
    "non_python": ("java", "javascript"),
    "python": tuple(c for c in _NON_LIVE + _LIVE if c not in ("java", "javascript")),
}

# Which backend class's function docs live in which file of data/multi_turn_func_doc.
_FUNC_DOC_FILES = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}
# Which module of eval_checker/multi_turn_eval/func_source_code defines each backend class.
_BACKEND_MODULES = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}



def bfcl_package_dir() -> Path:
    """The unzipped official `bfcl_eval` package directory (downloaded on first use).

    `AGENTFORGE_BFCL_WHEEL` may name a local copy of the wheel for machines
    without a package index.
    """
    return WHEEL.unpacked()


def expand_categories(names: list[str] | tuple[str, ...] | str) -> list[str]:
    """Category and group names -> categories, in the leaderboard's order, each once."""
    if isinstance(names, str):
        names = [names]
    wanted: set[str] = set()
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in CATEGORIES:
            wanted.add(name)
        else:
            raise ValueError(f"unknown BFCL category {name!r}; choose from {', '.join(CATEGORIES + tuple(GROUPS))}")
    return [c for c in CATEGORIES if c in wanted]


def category_of(entry_id: str) -> str:
    """`live_simple_3-2-1` -> `live_simple` (the official rule: cut at the last underscore)."""
    return entry_id.rsplit("_", 1)[0]


def is_multi_turn(category: str) -> bool:
    return "multi_turn" in category


def is_long_context(category: str) -> bool:
    # The official rule also covers the unreleased "composite" category.
    return "long_context" in category or "composite" in category


def _id_order(entry_id: str) -> tuple[str, int]:
    # Ids are `<category>_<n>` or `<category>_<n>-<doc>-<prompt>` (live); n orders them.
    category, index = entry_id.rsplit("_", 1)
    return category, int(index.split("-")[0])


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise ValueError(f"unknown BFCL category {category!r}; choose from {', '.join(CATEGORIES)}")


@lru_cache(maxsize=None)
def _entry_lines(category: str) -> tuple[str, ...]:
    # Raw JSON lines, sorted by id; parsing a line afresh is the cheapest way to hand out copies.
    path = bfcl_package_dir() / "data" / f"BFCL_v3_{category}.json"
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    ids = [json.loads(line)["id"] for line in lines]
    order = sorted(range(len(lines)), key=lambda i: _id_order(ids[i]))
    return tuple(lines[i] for i in order)


@lru_cache(maxsize=None)
def _func_doc_text(class_name: str) -> str:
    return json.dumps(_read_jsonl(bfcl_package_dir() / "data" / "multi_turn_func_doc" / _FUNC_DOC_FILES[class_name]))


def func_docs(class_name: str) -> list[dict]:
    """The function docs of one multi-turn backend class, in file order (a fresh copy)."""
    return json.loads(_func_doc_text(class_name))


def load_entries(category: str, *, function_docs: bool = True) -> list[dict]:
    """The test entries of one category (fresh copies, sorted by id).

    Multi-turn entries get what the official generation step adds: `function`,
    the docs of every involved class (class order, then file order) minus the
    held-out ones, and for miss_func `missed_function` as {turn: [docs]}
    instead of {turn: [names]}. We also add `long_context` (bool), the flag the
    official code derives from the category when it loads the backends.
    `function_docs=False` skips the docs (scoring does not need them).

    Ids are not unique everywhere: live_relevance holds two entries with the
    id `live_relevance_3-3-0` (so is the official file); key runs by position.
    """
    _check_category(category)
    entries = [json.loads(line) for line in _entry_lines(category)]
    if is_multi_turn(category):
        for entry in entries:
            if function_docs:
                _add_multi_turn_docs(entry)
            entry["long_context"] = is_long_context(category)
    return entries


def _add_multi_turn_docs(entry: dict) -> None:
    functions = [doc for cls in entry["involved_classes"] for doc in func_docs(cls)]
    missed: dict[str, list[dict]] = {}
    for turn, names in entry.get("missed_function", {}).items():
        missed[turn] = []
        for name in names:
            # The first doc of that name moves from the function list to its turn.
            for i, doc in enumerate(functions):
                if doc["name"] == name:
                    missed[turn].append(functions.pop(i))
                    break
    entry["function"] = functions
    if "missed_function" in entry:
        entry["missed_function"] = missed


def functions_at_turn(entry: dict, turn: int) -> list[dict]:
    """The function docs the model may see at turn `turn` of a prepared multi-turn entry.

    Held-out docs join the list at their turn and stay for the later turns
    (the official FC flow extends the tool list in place).
    """
    functions = list(entry.get("function", []))
    for held_turn, docs in sorted(entry.get("missed_function", {}).items(), key=lambda kv: int(kv[0])):
        if int(held_turn) <= turn:
            functions.extend(docs)
    return functions


def is_holdout_turn(entry: dict, turn: int) -> bool:
    """True when turn `turn` only announces held-out functions (its question is empty;
    the harness sends the official announcement, prompts.added_functions_message)."""
    return str(turn) in entry.get("missed_function", {})


@lru_cache(maxsize=None)
def _answer_text(category: str) -> str:
    path = bfcl_package_dir() / "data" / "possible_answer" / f"BFCL_v3_{category}.json"
    if not path.exists():  # irrelevance / relevance: no answers, only the rule
        return "{}"
    return json.dumps({row["id"]: row["ground_truth"] for row in _read_jsonl(path)})


def load_answers(category: str) -> dict[str, object]:
    """{entry id: ground truth} (fresh copies); {} for the (ir)relevance categories."""
    _check_category(category)
    return json.loads(_answer_text(category))


@lru_cache(maxsize=None)
def backends_importable() -> None:
    """Put the unzipped wheel on sys.path so its backend modules import (also what unpickling them needs)."""
    WHEEL.importable()


@lru_cache(maxsize=None)
def backend_class(class_name: str) -> type:
    """One official multi-turn backend class, imported from the unzipped wheel."""
    import importlib

    if class_name not in _BACKEND_MODULES:
        raise KeyError(f"unknown multi-turn backend class {class_name!r}")
    backends_importable()
    module = importlib.import_module(f"bfcl_eval.eval_checker.multi_turn_eval.func_source_code.{_BACKEND_MODULES[class_name]}")
    return getattr(module, class_name)


def clear_download() -> None:
    """Remove the unzipped data (tests and `--refresh` use it)."""
    shutil.rmtree(WHEEL.root(), ignore_errors=True)
