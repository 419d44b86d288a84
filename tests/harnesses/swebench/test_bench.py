"""`agent bench swebench` end to end on a real tiny repository (gold, empty,
predictions), resume, the report, and the official predictions format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.harnesses.journal import Journal
from agentforge.harnesses.rundir import RunDirMismatch
from agentforge.harnesses.swebench.bench import SweConfig, run_swebench
from agentforge.harnesses.swebench.predictions import Prediction, load_predictions, write_predictions

from .tiny_repo import make_instance


def instance_file(tmp_path: Path) -> tuple[Path, Path]:
    """(instances.jsonl with one instance, its mirror directory)."""
    instance, mirror = make_instance(tmp_path / "data", instance_id="acme__calc-0")
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(instance.row()) + "\n")
    return path, mirror


async def test_gold_is_100_and_empty_is_0(tmp_path):
    path, mirror = instance_file(tmp_path)
    stats, summary = await run_swebench(SweConfig(instances=str(path), source="gold", repos=str(mirror),
                                                  sandbox="bwrap"), tmp_path / "gold", progress=False)
    assert stats.errors == 0 and summary["aggregate"]["overall"]["pass@1"] == 1.0
    preds = load_predictions(tmp_path / "gold" / "predictions.jsonl")
    assert [p.model_name_or_path for p in preds] == ["gold"] and "a + b" in preds[0].model_patch
    assert (tmp_path / "gold" / "logs" / "acme__calc-0" / "0.log").read_text().count("PASSED") == 2
    _, summary = await run_swebench(SweConfig(instances=str(path), source="empty", repos=str(mirror),
                                              sandbox="bwrap"), tmp_path / "empty", progress=False)
    assert summary["aggregate"]["overall"]["pass@1"] == 0.0


async def test_predictions_are_regraded_and_resume_does_not_rerun(tmp_path):
    path, mirror = instance_file(tmp_path)
    row = json.loads(path.read_text())
    preds = tmp_path / "preds.jsonl"
    write_predictions(preds, [Prediction(instance_id=row["instance_id"], model_name_or_path="someone",
                                         model_patch=row["patch"])])
    config = SweConfig(instances=str(path), source="predictions", predictions=str(preds), repos=str(mirror),
                       sandbox="bwrap")
    stats, summary = await run_swebench(config, tmp_path / "run", progress=False)
    assert stats.done == 1 and summary["aggregate"]["overall"]["pass@1"] == 1.0
    again, _ = await run_swebench(config, tmp_path / "run", progress=False)
    assert again.done == 0 and again.skipped == 1
    assert len(Journal(tmp_path / "run" / "journal.jsonl").load()) == 1
    with pytest.raises(RunDirMismatch):
        await run_swebench(SweConfig(instances=str(path), source="gold", repos=str(mirror)), tmp_path / "run",
                           progress=False)


async def test_bad_settings_fail_before_any_work(tmp_path):
    path, mirror = instance_file(tmp_path)
    with pytest.raises(ValueError, match="--predictions"):
        await run_swebench(SweConfig(instances=str(path), source="predictions"), tmp_path / "r", progress=False)
    with pytest.raises(FileNotFoundError):
        await run_swebench(SweConfig(instances=str(tmp_path / "nope.jsonl"), source="gold"), tmp_path / "r",
                           progress=False)
    assert not (tmp_path / "r").exists()


OFFICIAL_VENV = Path.home() / ".cache" / "agentforge" / "swebench-official-venv"


def official_python() -> str:
    """The official `swebench` package, in its own venv (it pins things we don't)."""
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "swebench==5.0.2"], check=True)
    return str(python)


@pytest.mark.slow
async def test_official_swebench_package_loads_our_predictions_and_instances(tmp_path):
    path, mirror = instance_file(tmp_path)
    await run_swebench(SweConfig(instances=str(path), source="gold", repos=str(mirror), sandbox="bwrap"),
                       tmp_path / "run", progress=False)
    script = f"""
import json
from swebench.harness.utils import get_predictions_from_file, load_swebench_dataset
preds = get_predictions_from_file({str(tmp_path / 'run' / 'predictions.jsonl')!r}, "unused", "test")
rows = load_swebench_dataset({str(path)!r}, "test")
assert {{p["instance_id"] for p in preds}} == {{r["instance_id"] for r in rows}}
for p in preds:
    assert set(p) >= {{"instance_id", "model_name_or_path", "model_patch"}}
print(json.dumps([len(preds), len(rows)]))
"""
    done = subprocess.run([official_python(), "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [1, 1]
