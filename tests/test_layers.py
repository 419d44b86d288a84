"""The layer contracts (pyproject.toml, [tool.importlinter]) hold, and they catch what they are for.

import-linter reads the source files (it does not import them), so each check
takes a fraction of a second: the broken cases run it on a copy of the
package with one import added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="the dev extra installs import-linter")

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports over root/src/agentforge with root/pyproject.toml's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "agentforge", tmp_path / "src" / "agentforge",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_layers_and_no_cycles_hold():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_the_runtime_importing_a_layer_above_breaks_the_layers(copy):
    add_line(copy / "src/agentforge/runtime/messages.py", "from agentforge.selectors import registry  # noqa")
    done = lint(copy)
    assert done.returncode != 0
    assert "layers" in done.stdout and "BROKEN" in done.stdout
    assert "agentforge.runtime.messages -> agentforge.selectors.registry" in done.stdout


def test_serving_and_harnesses_stay_independent(copy):
    add_line(copy / "src/agentforge/serving/keys.py", "import agentforge.harnesses.journal  # noqa")
    done = lint(copy)
    assert done.returncode != 0 and "agentforge.serving.keys -> agentforge.harnesses.journal" in done.stdout


def test_a_cycle_between_modules_breaks_the_acyclic_contract(copy):
    # errors.py is imported by disk.py; importing disk back makes a cycle inside one layer
    add_line(copy / "src/agentforge/runtime/sandbox/errors.py", "from . import disk  # noqa")
    done = lint(copy)
    assert done.returncode != 0
    assert "No cycles are allowed in agentforge.runtime.sandbox" in done.stdout


def test_a_new_top_level_package_must_take_a_place(copy):
    (copy / "src/agentforge/newpkg").mkdir()
    (copy / "src/agentforge/newpkg/__init__.py").write_text("")
    done = lint(copy)
    assert done.returncode != 0 and "newpkg" in done.stdout + done.stderr
