"""Which checkpoints are whole: a run killed at any moment resumes from the last one.

The Trainer writes `checkpoint-N/` file by file; a kill in the middle leaves
a folder that looks like a checkpoint but is not one. So a checkpoint counts
only once `complete` is written into it, after every file (and every
process's shard) is on disk. Older checkpoints are removed only after the
new one is marked, so there is always one whole checkpoint to go back to.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

MARKER = "complete"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def mark_complete(folder: Path) -> None:
    with open(folder / MARKER, "w") as f:
        f.write("ok\n")
        f.flush()
        os.fsync(f.fileno())


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def _numbered(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return sorted(found)


def latest_complete(root: Path) -> Path | None:
    whole = [p for _, p in _numbered(root) if is_complete(p)]
    return whole[-1] if whole else None


def remove_incomplete(root: Path) -> list[Path]:
    """Delete the half-written checkpoints a kill left (call before resuming)."""
    removed = [p for _, p in _numbered(root) if not is_complete(p)]
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed


def rotate(root: Path, keep: int) -> None:
    """Keep the newest `keep` complete checkpoints (at least one)."""
    whole = [p for _, p in _numbered(root) if is_complete(p)]
    for p in whole[: max(0, len(whole) - max(1, keep))]:
        # unmark first: a kill during the removal leaves an incomplete folder, not a broken "complete" one
        (p / MARKER).unlink(missing_ok=True)
        shutil.rmtree(p, ignore_errors=True)
