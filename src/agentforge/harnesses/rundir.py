"""A run directory's config.json: written on the first run, checked on every resume.

Resuming with other sampling settings would mix incomparable candidates in one
journal, so a run refuses to continue when an identity setting differs. A
config.json that cannot be read (cut short, edited by hand, not an object) is
a RunDirError that names the file and says what to do, never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence, TypeVar

from agentforge.harnesses.config import saved_settings
from agentforge.runtime.trajectory import write_atomic

C = TypeVar("C")


class RunDirError(ValueError):
    """A run directory that cannot be used as it is; the message says what to do."""


class RunDirMismatch(RunDirError):
    pass


def read_config(run_dir: Path) -> dict[str, Any]:
    """The settings object in run_dir/config.json, or a RunDirError naming the file."""
    path = Path(run_dir) / "config.json"
    fix = ("if you know the settings the run was made with, delete the file and run the same command to "
           "resume; else start a new run with another --run-dir (this one is left as it is)")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunDirError(f"{run_dir} is not a run directory (no config.json)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunDirError(f"cannot read {path}: {e}; {fix}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                          f"it holds the run's settings: {fix}") from None
    if not isinstance(raw, dict):
        raise RunDirError(f"{path} holds a JSON {type(raw).__name__}, not the run's settings (a JSON object); "
                          f"{fix}")
    return raw


def check_run_dir(run_dir: Path, config: Any, identity: Sequence[str], harness: str) -> None:
    """Write config.json (with the harness name), or refuse a resume made with other settings."""
    path = Path(run_dir) / "config.json"
    mine = saved_settings(config)
    if path.exists():
        theirs = read_config(run_dir)
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
    return str(read_config(run_dir).get("harness", "bfcl"))


def load_config(run_dir: Path, cls: type[C]) -> C:
    """The settings a run directory was made with (keys this version does not know are dropped)."""
    raw = read_config(run_dir)
    known = cls.__dataclass_fields__  # type: ignore[attr-defined]
    config = cls(**{k: v for k, v in raw.items() if k in known and known[k].metadata.get("saved", True)})
    if "run_dir" in known:
        config.run_dir = str(run_dir)  # type: ignore[attr-defined]
    return config


def safe_name(name: str) -> str:
    """A task id as a file or directory name."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
