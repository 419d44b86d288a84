"""The crash-safe results journal: one JSON line per finished sample.

Appends are written with a single `os.write` on an O_APPEND descriptor and
fsync'ed before the runner counts the sample as done, so a run killed at any
instant leaves every finished sample on disk and at worst one torn last line.
Loading drops a torn line (it was never acknowledged) and keeps the last record
per key, so a re-run neither loses nor double-counts a finished sample.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, Field


class SampleResult(BaseModel):
    """One candidate of one task, as the harness scored it."""

    task_id: str
    sample: int
    category: str = ""
    status: str = "ok"  # ok | error (the model/endpoint failed; counts as wrong)
    correct: bool | None = None
    answer: str = ""  # canonical answer, what majority vote compares
    output: Any = None  # harness-specific decoded output (BFCL: official decoded format)
    decode_error: str | None = None
    detail: dict = Field(default_factory=dict)  # verdict details (error types, ...)
    token_logprobs: list[float] = Field(default_factory=list)
    token_confidences: list[float] = Field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    trajectory: str | None = None  # path relative to the run directory

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.sample)


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self, keep_errors: bool = True) -> dict[tuple[str, int], SampleResult]:
        """Every acknowledged sample, last record per key. With keep_errors=False,
        samples whose last record is an error are left out so they run again."""
        records: dict[tuple[str, int], SampleResult] = {}
        if not self.path.exists():
            return records
        with self.path.open("rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # torn final write: never fsync'ed, never acknowledged
                try:
                    record = SampleResult.model_validate_json(line)
                except ValueError:
                    continue  # a line from a torn write followed by later appends
                records[record.key] = record
        if not keep_errors:
            records = {k: r for k, r in records.items() if r.status != "error"}
        return records

    def append(self, results: Iterable[SampleResult]) -> None:
        """Durably append; returns only after the data is on disk."""
        data = b"".join(r.model_dump_json().encode() + b"\n" for r in results)
        if data:
            with self._lock:
                append_durably(self.path, data)


def append_durably(path: Path, data: bytes) -> None:
    """Append `data` with one write + fsync; returns only once it is on disk.

    If the file ends in a torn line (a kill mid-write), a newline goes first so
    the new record is not glued onto it. Callers serialize their own appends.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with path.open("rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    os.write(fd, b"\n")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
