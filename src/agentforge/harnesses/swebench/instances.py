"""SWE-bench instances: the official row format, plus our `environment` field.

Rows load from JSONL, a JSON list, or parquet (the Hugging Face dumps). The
official Verified rows carry `eval_script` and `log_parser`; synthesized rows
(`agent train synth swe`) also carry `environment`, the venv their tests need,
which is what lets them run in bwrap or in a locally built docker image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from agentforge.harnesses.swebench.environment import EnvSpec


class Instance(BaseModel):
    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    base_commit: str
    patch: str = ""
    test_patch: str = ""
    problem_statement: str = ""
    hints_text: str = ""
    FAIL_TO_PASS: list[str] = []
    PASS_TO_PASS: list[str] = []
    version: str | None = None
    environment_setup_commit: str | None = None
    eval_script: str | None = None
    log_parser: str | None = None
    eval_type: str = "pass_and_fail"
    image: str | None = None
    environment: EnvSpec | None = None

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        # Hugging Face dumps store these lists as JSON strings.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("version", mode="before")
    @classmethod
    def _str_version(cls, value: Any) -> Any:
        return None if value is None else str(value)

    def row(self) -> dict[str, Any]:
        """The dict grading and the official tools expect."""
        return self.model_dump(mode="json")

    def official_image(self, arch: str = "x86_64") -> str:
        """The docker image the official harness runs this instance in.

        swebench 5.0.2 takes the row's `image` verbatim (make_test_spec); only
        older rows without one get the name its image builder publishes.
        """
        if self.image:
            return self.image
        return f"swebench/sweb.eval.{arch}.{self.instance_id.replace('__', '_1776_').lower()}:latest"


def load_instances(path: str | Path, ids: list[str] | None = None, limit: int | None = None) -> list[Instance]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no instance file at {path}")
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise RuntimeError("reading parquet needs pyarrow: pip install pyarrow") from exc
        rows = pq.read_table(path).to_pylist()
    elif path.suffix == ".json":
        rows = json.loads(path.read_text())
    else:
        rows = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc})") from exc
    instances = []
    for number, row in enumerate(rows, 1):
        try:
            instances.append(Instance.model_validate(row))
        except Exception as exc:
            raise ValueError(f"{path}: row {number} is not a SWE-bench instance: {exc}") from exc
    if ids:
        wanted = set(ids)
        missing = wanted - {i.instance_id for i in instances}
        if missing:
            raise KeyError(f"not in {path}: {', '.join(sorted(missing))}")
        instances = [i for i in instances if i.instance_id in wanted]
    return instances[:limit] if limit else instances
