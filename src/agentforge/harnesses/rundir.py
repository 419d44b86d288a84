"""A run directory's config.json: written on the first run, checked on every resume.

Resuming with other sampling settings would mix incomparable candidates in one
journal, so a run refuses to continue when an identity setting differs.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence, TypeVar

from agentforge.runtime.trajectory import write_atomic

C = TypeVar("C")


class RunDirMismatch(ValueError):
    pass


def check_run_dir(run_dir: Path, config: Any, identity: Sequence[str], harness: str) -> None:
    """Write config.json (with the harness name), or refuse a resume made with other settings."""
    path = Path(run_dir) / "config.json"
    mine = asdict(config)
    if path.exists():
        theirs = json.loads(path.read_text())
        if theirs.get("harness", "bfcl") != harness:
            raise RunDirMismatch(f"{run_dir} holds a {theirs.get('harness', 'bfcl')} run, not {harness}")
        diff = [k for k in identity if theirs.get(k) != mine.get(k)]
        if diff:
            raise RunDirMismatch(
                f"{run_dir} holds a run with other settings "
                f"({', '.join(f'{k}: {theirs.get(k)!r} vs {mine.get(k)!r}' for k in diff)}); "
                "use another --run-dir or the same settings")
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**mine, "harness": harness, "saved_at": time.time()}, indent=2))


def harness_of(run_dir: Path) -> str:
    return json.loads((Path(run_dir) / "config.json").read_text()).get("harness", "bfcl")


def load_config(run_dir: Path, cls: type[C]) -> C:
    """The settings a run directory was made with (keys this version does not know are dropped)."""
    raw = json.loads((Path(run_dir) / "config.json").read_text())
    return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def safe_name(name: str) -> str:
    """A task id as a file or directory name."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
