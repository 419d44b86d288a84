"""SWE-bench predictions files, as the official `run_evaluation` reads them.

One prediction per instance: `instance_id`, `model_name_or_path`, `model_patch`
(a unified diff; `null` or "" means the model gave none, and the official harness
then skips the instance and counts it unresolved). Files are `.jsonl` (one object
a line) or `.json` (a list, or an `{instance_id: prediction}` object as
SWE-agent writes). Other keys are kept. When an instance appears twice the later
row wins, in the place of the first, as the official loader's dict does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from agentforge.runtime.trajectory import write_atomic


class Prediction(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    instance_id: str
    model_name_or_path: str
    model_patch: str | None

    @property
    def is_empty(self) -> bool:
        """No patch to evaluate (the official harness does not run these)."""
        return not self.model_patch


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl"):
        raise ValueError(f"{path}: a predictions file must end in .json or .jsonl")
    return suffix


def _row(obj: Any, where: str) -> Prediction:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: a prediction must be a JSON object, got {type(obj).__name__}")
    try:
        return Prediction.model_validate(obj)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'row'}: {err['msg']}" for err in e.errors())
        raise ValueError(f"{where}: invalid prediction ({problems})") from None


def load_predictions(path: str | os.PathLike[str]) -> list[Prediction]:
    """Read a .jsonl or .json predictions file; ValueError naming the bad line or entry."""
    path = Path(path)
    rows: list[Prediction] = []
    if _format(path) == ".jsonl":
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue  # a blank line holds no prediction
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
                rows.append(_row(obj, f"{path}:{lineno}"))
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
        if isinstance(data, dict):  # {instance_id: prediction}, as SWE-agent writes
            entries = [(f"{path}: entry {key!r}", value) for key, value in data.items()]
        elif isinstance(data, list):
            entries = [(f"{path}: item {i}", value) for i, value in enumerate(data)]
        else:
            raise ValueError(f"{path}: expected a list of predictions or an {{instance_id: prediction}} object")
        rows = [_row(value, where) for where, value in entries]

    by_id: dict[str, Prediction] = {}
    for pred in rows:
        by_id[pred.instance_id] = pred
    return list(by_id.values())


def write_predictions(path: str | os.PathLike[str], preds: Iterable[Prediction | dict[str, Any]]) -> Path:
    """Write predictions atomically: JSONL for .jsonl, a JSON list for .json.

    Readers see the old file or the new one, never half of either. Duplicate
    instance ids are refused (the official loader would silently keep the last).
    """
    path = Path(path)
    fmt = _format(path)
    rows = [p if isinstance(p, Prediction) else _row(p, f"prediction {i}") for i, p in enumerate(preds)]
    seen: set[str] = set()
    for p in rows:
        if p.instance_id in seen:
            raise ValueError(f"duplicate prediction for {p.instance_id}")
        seen.add(p.instance_id)
    dumped = [p.model_dump(mode="json") for p in rows]
    if fmt == ".jsonl":
        text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dumped)
    else:
        text = json.dumps(dumped, ensure_ascii=False, indent=2) + "\n"

    write_atomic(path, text)
    return path
