"""The synthesis journal: one JSON line per tried mutation, appended and fsync'ed.

A record is written only after its work is done (and, for a kept mutation,
after its commit is tagged), so a run killed at any moment loses at most the
mutations in flight. Loading skips a torn last line and keeps the last record
per id, so a re-run neither redoes a finished mutation nor emits one twice.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from agentforge.harnesses.journal import append_durably
from agentforge.runtime.trajectory import write_atomic

KEPT = "kept"  # became an instance
REJECTED = "rejected"  # tried, and not a usable bug (the reason says why); never retried
SURPLUS = "surplus"  # a usable bug beyond the per-package or per-function quota; tried again later if wanted
ERROR = "error"  # the machinery failed (sandbox, git); tried again on the next run
FINAL = (KEPT, REJECTED)


class SynthJournal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """id -> its last acknowledged record, in first-seen order."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return records
        with self.path.open("rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # torn final write: never acknowledged
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "id" in record:
                    records[record["id"]] = record
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Durably append one record; returns once it is on disk."""
        data = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        with self._lock:
            append_durably(self.path, data)


def write_jsonl_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace `path` with `rows`, all or nothing."""
    write_atomic(Path(path), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    append_durably(Path(path), json.dumps(row, ensure_ascii=False).encode() + b"\n")
