"""A synthesized bug as a SWE-bench row.

The row has every official field (the buggy commit is `base_commit`, the gold
`patch` undoes the mutation, `test_patch` is empty because the tests already
exist) plus our `environment` field: the venv the tests need. Its eval script
has the official shape without the conda/testbed lines, because our harness
runs it in the workspace with the environment already on PATH and PYTHONPATH.
"""

from __future__ import annotations

import datetime as _dt
import json
import shlex
from typing import Any, Iterable

from agentforge.harnesses.swebench.log_parsers import END_TEST_OUTPUT, START_TEST_OUTPUT

PYTEST_COMMAND = "python -m pytest -rA -p no:cacheprovider --color=no"
LOG_PARSER = "parse_log_pytest"


def repo_name(package: str) -> str:
    """`pypi/<normalized name>`; its mirror directory is `repos/pypi__<normalized name>`."""
    return f"pypi/{package}"


def instance_id(package: str, version: str, kind: str, digest: str) -> str:
    return f"{package}-{version}__{kind}-{digest}"


def file_of_test(test_id: str) -> str:
    """The file part of a pytest id: `tests/test_x.py::TestA::test_b[1]` -> `tests/test_x.py`."""
    return test_id.split("::", 1)[0]


def module_name(path: str, source_root: str = "") -> str:
    """`src/pkg/sub/mod.py` -> `pkg.sub.mod` (`__init__.py` names its package)."""
    rel = path[len(source_root) + 1:] if source_root and path.startswith(source_root + "/") else path
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def eval_script(base_commit: str, test_files: Iterable[str]) -> str:
    files = " ".join(shlex.quote(f) for f in test_files)
    return "\n".join([
        "#!/bin/bash",
        "set -uxo pipefail",
        f"git -c core.fileMode=false diff {base_commit}",
        f"git checkout {base_commit} -- {files}",
        f": '{START_TEST_OUTPUT}'",
        f"{PYTEST_COMMAND} {files}",
        'echo ">>>>> Test Exit Code: $?"',  # lets grading tell a crash that printed no results from a run
        f": '{END_TEST_OUTPUT}'",
        f"git checkout {base_commit} -- {files}",
        "",
    ])


def difficulty(patch: str) -> str:
    """SWE-bench's buckets, from the size of the fix."""
    changed = sum(1 for line in patch.splitlines()
                  if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return "<15 min fix" if changed <= 4 else "15 min - 1 hour"


def make_row(*, package: str, version: str, instance: str, base_commit: str, setup_commit: str, patch: str,
             problem_statement: str, fail_to_pass: list[str], pass_to_pass: list[str],
             test_files: list[str], environment: dict[str, Any], created_at: str | None = None,
             mutation: dict[str, Any] | None = None) -> dict[str, Any]:
    """One instance row. FAIL_TO_PASS / PASS_TO_PASS are JSON text, as in the Hugging Face dumps."""
    row: dict[str, Any] = {
        "repo": repo_name(package),
        "instance_id": instance,
        "base_commit": base_commit,
        "patch": patch,
        "test_patch": "",
        "problem_statement": problem_statement,
        "hints_text": "",
        "created_at": created_at or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": version,
        "FAIL_TO_PASS": json.dumps(fail_to_pass),
        "PASS_TO_PASS": json.dumps(pass_to_pass),
        "environment_setup_commit": setup_commit,
        "difficulty": difficulty(patch),
        "log_parser": LOG_PARSER,
        "eval_type": "pass_and_fail",
        "eval_script": eval_script(base_commit, test_files),
        "image": None,
        "environment": environment,
    }
    if mutation is not None:
        row["mutation"] = mutation  # our provenance: file, function, kind (never shown to an agent)
    return row
