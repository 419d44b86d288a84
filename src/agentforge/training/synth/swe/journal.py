"""The synthesis journal: one JSON line per tried mutation, appended and fsync'ed.

A record is written only after its work is done (and, for a kept mutation,
after its commit is tagged), so a run killed at any moment loses at most the
mutations in flight. Loading skips a torn last line and keeps the last record
per id, so a re-run neither redoes a finished mutation nor emits one twice.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size:
                    with self.path.open("rb") as f:
                        f.seek(size - 1)
                        if f.read(1) != b"\n":  # a torn line from a kill: start a fresh one
                            os.write(fd, b"\n")
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)


def write_jsonl_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace `path` with `rows`, all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    path = Path(path)
    with path.open("a") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
