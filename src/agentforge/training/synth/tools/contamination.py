"""Overlap of training records with BFCL v3 (every category: questions and
function docs), and the filter that keeps BFCL out of training data.

Two checks per record:
- function names (offered tools and calls), normalized so `math.factorial`,
  `math_factorial` and `mathFactorial` are one name;
- word n-grams (default 8) of the user messages against every BFCL question.
A record with any BFCL name or any shared n-gram is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Iterator

NGRAM = 8
_WORD = re.compile(r"[a-z0-9]+")


def normalize_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class BfclIndex:
    names: frozenset[str]  # normalized function names
    grams: frozenset[tuple[str, ...]]  # query n-grams
    n: int = NGRAM
    questions: int = 0


def _user_texts(question: Any) -> Iterator[str]:
    """User contents of a BFCL `question` (a list of turns, each a list of messages; nested freely)."""
    if isinstance(question, dict):
        if question.get("role") == "user" and isinstance(question.get("content"), str):
            yield question["content"]
    elif isinstance(question, list):
        for item in question:
            yield from _user_texts(item)


def _function_names(functions: Any) -> Iterator[str]:
    if isinstance(functions, dict):
        functions = [functions]
    for doc in functions or []:
        if isinstance(doc, dict) and isinstance(doc.get("name"), str):
            yield doc["name"]


def build_index(entries: Iterable[dict], n: int = NGRAM) -> BfclIndex:
    names, grams, questions = set(), set(), 0
    for entry in entries:
        for name in _function_names(entry.get("function")):
            names.add(normalize_name(name))
        for docs in (entry.get("missed_function") or {}).values():
            names.update(normalize_name(x) for x in _function_names(docs))
        for text in _user_texts(entry.get("question")):
            questions += 1
            grams |= ngrams(text, n)
    return BfclIndex(frozenset(names), frozenset(grams), n, questions)


@lru_cache(maxsize=2)
def bfcl_index(n: int = NGRAM) -> BfclIndex:
    """The index over all 17 BFCL v3 categories (downloads the data on first use)."""
    from agentforge.harnesses.bfcl.data import CATEGORIES, load_entries

    def entries() -> Iterator[dict]:
        for category in CATEGORIES:
            yield from load_entries(category)
    return build_index(entries(), n)


def record_names(record: dict) -> set[str]:
    names = {t.get("function", {}).get("name", "") for t in record.get("tools") or [] if isinstance(t, dict)}
    for m in record.get("messages") or []:
        for call in m.get("tool_calls") or []:
            names.add((call.get("function") or {}).get("name", ""))
    return {n for n in names if n}


def record_query_text(record: dict) -> str:
    return "\n".join(m.get("content") or "" for m in record.get("messages") or [] if m.get("role") == "user")


@dataclass
class ContaminationReport:
    checked: int = 0
    dropped_name: int = 0
    dropped_ngram: int = 0
    max_ngram_overlap: float = 0.0  # share of a record's query n-grams found in BFCL, max over records
    records_with_shared_ngram: int = 0
    names_hit: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return self.dropped_name + self.dropped_ngram

    def as_dict(self, index: BfclIndex | None = None) -> dict:
        out = {"checked": self.checked, "kept": self.checked - self.dropped, "dropped": self.dropped,
               "dropped_function_name": self.dropped_name, "dropped_query_ngram": self.dropped_ngram,
               "records_with_shared_ngram": self.records_with_shared_ngram,
               "max_query_ngram_overlap": round(self.max_ngram_overlap, 4),
               "bfcl_function_names_hit": dict(sorted(self.names_hit.items(), key=lambda kv: -kv[1])[:50]),
               "examples": self.examples[:10]}
        if index is not None:
            out["bfcl"] = {"version": "v3", "function_names": len(index.names), "questions": index.questions,
                           "ngram": index.n, "query_ngrams": len(index.grams)}
        return out


class ContaminationFilter:
    """`keep(record)` is False for a record that overlaps BFCL; the report counts why."""

    def __init__(self, index: BfclIndex):
        self.index = index
        self.report = ContaminationReport()

    def keep(self, record: dict) -> bool:
        r = self.report
        r.checked += 1
        hits = sorted(n for n in record_names(record) if normalize_name(n) in self.index.names)
        grams = ngrams(record_query_text(record), self.index.n)
        shared = grams & self.index.grams
        if grams:
            r.max_ngram_overlap = max(r.max_ngram_overlap, len(shared) / len(grams))
        if shared:
            r.records_with_shared_ngram += 1
        if hits:
            r.dropped_name += 1
            for n in hits:
                r.names_hit[n] = r.names_hit.get(n, 0) + 1
            r.examples.append({"why": "function name", "names": hits})
            return False
        if shared:
            r.dropped_ngram += 1
            r.examples.append({"why": f"{self.index.n}-gram", "ngram": " ".join(sorted(shared)[0]),
                               "query": record_query_text(record)[:200]})
            return False
        return True
