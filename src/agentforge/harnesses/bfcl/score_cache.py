"""Fast scoring of many outputs by entry id, from precomputed inputs cached on disk.

Scoring a whole run needs, per entry, only a little of the official data: the
docs of the functions an answer names (single-turn), the answer, and for
multi-turn entries the run of the answer's calls (`TruthRun`: results, states,
initial backends), which is deterministic. `category_index` builds that once
per category and keeps it as a pickle beside the unzipped data, keyed by the
source of the modules that produce it (and the date, see _index_version), so
a changed checker never reads a stale index. `Scorer` scores `(category, task id, output)` against it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import pickle
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from agentforge.harnesses.bfcl import checker, lang_literals, multi_turn, multi_turn_check
from agentforge.harnesses.bfcl.checker import Verdict
from agentforge.harnesses.bfcl.data import bfcl_package_dir, is_multi_turn, load_answers, load_entries
from agentforge.harnesses.bfcl.multi_turn import DEFAULT_MODEL_NAME
from agentforge.harnesses.bfcl.multi_turn_check import TruthRun, run_truth
from agentforge.harnesses.bfcl.score import score_entry


@dataclass
class CategoryIndex:
    """Per entry id, one pickle of (the part of the entry the checker reads, the
    answer, the TruthRun or None). Opaque bytes until used: a loaded index costs
    the cyclic GC nothing, and an entry is unpacked only when scored."""

    category: str
    blobs: dict[str, bytes]

    def get(self, task_id: str) -> tuple[dict, Any, TruthRun | None]:
        blob = self.blobs.get(task_id)
        if blob is None:
            raise KeyError(f"no entry {task_id!r} in BFCL category {self.category!r}")
        return pickle.loads(blob)


def _index_version() -> str:
    digest = hashlib.sha1()
    for module in (checker, lang_literals, multi_turn, multi_turn_check):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    # One backend reads today's date (a traveller's age in TravelAPI); the official
    # checker runs both sides on the same day, so an index is good for one day.
    digest.update(date.today().isoformat().encode())
    return digest.hexdigest()[:16]


def _compact(category: str, entry: dict, answer: Any) -> dict:
    if is_multi_turn(category):
        return entry  # trimmed in build_index once its TruthRun is known
    if answer is None:
        return {"id": entry["id"], "function": []}  # (ir)relevance: only the rule matters
    # The checker reads functions[0] (simple) and the first doc of each expected name.
    names = {next(iter(call)) for call in answer}
    keep, seen = [], set()
    for i, doc in enumerate(entry["function"]):
        if i == 0 or (doc["name"] in names and doc["name"] not in seen):
            keep.append(doc)
        seen.add(doc["name"])
    return {"id": entry["id"], "function": keep}


def build_index(category: str) -> CategoryIndex:
    answers = load_answers(category)
    blobs: dict[str, bytes] = {}
    for entry in load_entries(category, function_docs=False):
        if entry["id"] in blobs:
            continue  # a repeated id (live_relevance): the rule needs no entry
        answer = answers.get(entry["id"])
        truth = None
        compact = _compact(category, entry, answer)
        if is_multi_turn(category):
            truth = run_truth(entry, answer, model_name=DEFAULT_MODEL_NAME)
            if truth.model_name is None:  # the backends come from the TruthRun; the id names the instances
                compact = {"id": entry["id"], "involved_classes": entry["involved_classes"]}
        blobs[entry["id"]] = pickle.dumps((compact, answer, truth), protocol=pickle.HIGHEST_PROTOCOL)
    return CategoryIndex(category, blobs)


@lru_cache(maxsize=None)
def category_index(category: str) -> CategoryIndex:
    """The category's scoring index, from the disk cache (built and saved on first use)."""
    folder = bfcl_package_dir().parent / "scoring"
    path = folder / f"{category}-{_index_version()}.pkl"
    if path.exists():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:
            pass  # unreadable (interrupted write of an older format?): rebuild
    index = build_index(category)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{category}-", delete=False) as f:
        pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(f.name, path)  # atomic: readers never see half a file
    for stale in folder.glob(f"{category}-*.pkl"):
        if stale != path:
            stale.unlink(missing_ok=True)  # built by an older checker
    return index


class Scorer:
    """Scores outputs by (category, task id); same verdicts as `score.score_entry`."""

    def __init__(self, *, model_name: str = DEFAULT_MODEL_NAME, underscore_to_dot: bool = False) -> None:
        self.model_name = model_name
        self.underscore_to_dot = underscore_to_dot

    def score(self, category: str, task_id: str, decoded: Any, decode_error: str | None = None) -> Verdict:
        entry, answer, truth = category_index(category).get(task_id)
        return score_entry(category, entry, answer, decoded, decode_error,
                           underscore_to_dot=self.underscore_to_dot, model_name=self.model_name, truth=truth)

    def score_many(self, rows: Iterable[tuple[str, str, Any, str | None]]) -> list[Verdict]:
        """Verdicts for (category, task id, decoded, decode error) rows, in order."""
        with _gc_paused():
            return [self.score(*row) for row in rows]

    def score_journal(self, path: Path) -> list[tuple[dict, Verdict]]:
        """Each line of a run journal (JSON lines with category, task_id, output,
        decode_error) with its verdict, in file order."""
        with _gc_paused(), open(path, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
            return [(r, self.score(r["category"], r["task_id"], r.get("output"), r.get("decode_error"))) for r in rows]


@contextmanager
def _gc_paused():
    # Scoring allocates many short-lived objects (parsed outputs, unpickled
    # backends); the cyclic GC's passes over them cost ~30% of the time. The
    # few cycles among them are collected once it resumes.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
