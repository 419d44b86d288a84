"""`agent bench swebench` end to end on a real tiny repository (gold, empty,
predictions), resume, the report, and the official predictions format."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentforge.harnesses.journal import Journal
from agentforge.harnesses.rundir import RunDirMismatch
from agentforge.harnesses.swebench.bench import SweConfig, run_swebench
from agentforge.harnesses.swebench.predictions import Prediction, load_predictions, write_predictions

from .official import official_python
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


def fixing_agent(replacements=("a + b",)):
    """A scripted model (no real model can be made to fix the bug on cue): step 1 edits
    the bug with sed, step 2 submits. The k-th episode to start uses replacements[k]."""
    started = []

    def reply(messages, tools, index):
        if not any(m.role == "assistant" for m in messages):
            replacement = replacements[len(started) % len(replacements)]
            started.append(replacement)
            return f"THOUGHT: add subtracts.\n\n```bash\nsed -i 's/a - b/{replacement}/' calc.py\n```", []
        return "THOUGHT: done.\n\n```bash\necho AGENTFORGE_SUBMIT_PATCH\n```", []

    return reply


async def test_agent_source_runs_the_code_agent_and_grades_its_patch(tmp_path):
    from tests.fakes.scripted_backend import ScriptedBackend

    path, mirror = instance_file(tmp_path)
    backend = ScriptedBackend(fixing_agent())
    config = SweConfig(instances=str(path), source="agent", model="scripted", repos=str(mirror), sandbox="bwrap",
                       max_steps=5)
    stats, summary = await run_swebench(config, tmp_path / "run", backend=backend, progress=False)
    assert stats.errors == 0, stats.error_messages
    record = next(iter(Journal(tmp_path / "run" / "journal.jsonl").load().values()))
    assert record.correct and record.detail["agent_status"] == "submitted" and record.detail["agent_steps"] == 2
    assert "+    return a + b" in record.output and record.token_confidences
    traj = json.loads((tmp_path / "run" / record.trajectory).read_text())
    assert traj["task_id"] == "acme__calc-0"
    assert summary["aggregate"]["overall"]["pass@1"] == 1.0


async def test_n_candidates_give_pass_at_k_and_per_sample_predictions(tmp_path):
    from tests.fakes.scripted_backend import ScriptedBackend

    path, mirror = instance_file(tmp_path)
    config = SweConfig(instances=str(path), source="agent", model="scripted", repos=str(mirror), sandbox="bwrap",
                       n=2, max_steps=5)
    _, summary = await run_swebench(config, tmp_path / "run", backend=ScriptedBackend(fixing_agent(("a + b", "a * b"))), progress=False)
    overall = summary["aggregate"]["overall"]
    assert overall["pass@1"] == 0.5 and overall["pass@N"] == 1.0
    assert overall["selected@k"]["oracle"]["2"] == 1.0
    patches = [load_predictions(tmp_path / "run" / "predictions" / f"sample-{k}.jsonl")[0].model_patch
               for k in range(2)]
    assert sorted("a * b" in p for p in patches) == [False, True]


@pytest.mark.model
async def test_embedded_model_end_to_end(tmp_path, embedded):
    """The real embedded model through the whole harness: checkout, env, agent, eval, report.
    (It is far too small to fix anything; the run must complete and be graded honestly.)"""
    path, mirror = instance_file(tmp_path)
    config = SweConfig(instances=str(path), source="agent", model="embedded", repos=str(mirror), sandbox="bwrap",
                       max_steps=2, max_tokens=96)
    stats, summary = await run_swebench(config, tmp_path / "run", backend=embedded, progress=False)
    assert stats.errors == 0, stats.error_messages
    record = next(iter(Journal(tmp_path / "run" / "journal.jsonl").load().values()))
    assert record.detail["agent_status"] in ("submitted", "step_limit", "context_exhausted")
    assert record.detail["agent_steps"] <= 2 and record.tokens > 0 and record.token_confidences
    assert record.correct is False and summary["aggregate"]["overall"]["pass@1"] == 0.0
    assert load_predictions(tmp_path / "run" / "predictions.jsonl")[0].model_name_or_path == "embedded"


async def test_one_failing_candidate_does_not_take_its_siblings_down(tmp_path, monkeypatch):
    from agentforge.harnesses.swebench import agent_run
    from tests.fakes.scripted_backend import ScriptedBackend

    real = agent_run.solve_instance

    async def flaky(instance, backend, config, repos, sample, run_dir, log=None):
        if sample == 1:
            raise RuntimeError("environment exploded")
        return await real(instance, backend, config, repos, sample, run_dir, log=log)

    monkeypatch.setattr(agent_run, "solve_instance", flaky)
    path, mirror = instance_file(tmp_path)
    config = SweConfig(instances=str(path), source="agent", model="scripted", repos=str(mirror), sandbox="bwrap",
                       n=2, max_steps=5)
    stats, _ = await run_swebench(config, tmp_path / "run", backend=ScriptedBackend(fixing_agent()), progress=False)
    records = Journal(tmp_path / "run" / "journal.jsonl").load()
    assert records[("acme__calc-0", 0)].correct is True
    assert records[("acme__calc-0", 1)].status == "error" and "environment exploded" in records[("acme__calc-0", 1)].error
    assert stats.errors == 1


def run_cli(*args: str):
    from typer.testing import CliRunner

    from agentforge.cli import app

    return CliRunner().invoke(app, ["bench", "swebench", *args], env={"COLUMNS": "250"})


def test_rows_that_cannot_run_here_are_errors_and_a_run_that_graded_nothing_fails(tmp_path):
    # Official rows need their docker image: outside docker none can be graded. They once counted as
    # graded failures: exit 0, pass@1 0.0, "unscored_candidates": 0 and empty gold patches.
    from tests.shared_data import shared_data

    verified = shared_data("swebench_verified.jsonl")
    done = run_cli("-i", str(verified), "--source", "gold", "--limit", "2", "--sandbox", "local",
                   "--run-dir", str(tmp_path / "run"))
    assert done.exit_code == 1, done.output
    assert "nothing could be graded: all 2 candidate(s) errored" in done.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["unscored_candidates"], summary["graded_candidates"], summary["error_candidates"]) == (2, 0, 2)
    records = Journal(tmp_path / "run" / "journal.jsonl").load().values()
    assert {(r.status, r.correct) for r in records} == {("error", None)}
    assert all("not graded: Unrunnable" in r.error for r in records)
    rows = {json.loads(line)["instance_id"]: json.loads(line)["patch"] for line in verified.read_text().splitlines()[:2]}
    preds = load_predictions(tmp_path / "run" / "predictions.jsonl")
    assert {p.instance_id: p.model_patch for p in preds} == rows  # the gold patches, not ""


def test_a_run_with_some_graded_candidates_reports_the_rest_as_unscored(tmp_path):
    from tests.shared_data import shared_data

    path, mirror = instance_file(tmp_path)
    official = shared_data("swebench_verified.jsonl").read_text().splitlines()[0]
    path.write_text(path.read_text() + official + "\n")
    done = run_cli("-i", str(path), "--source", "gold", "--sandbox", "local", "--repos", str(mirror),
                   "--run-dir", str(tmp_path / "run"))
    assert done.exit_code == 0, done.output
    assert "1 candidate(s) were unscored" in done.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["unscored_candidates"], summary["graded_candidates"]) == (1, 1)
    assert summary["aggregate"]["overall"]["pass@1"] == 0.5  # unscored counts as wrong, and says so
