"""The journal and resuming a killed run: nothing redone, nothing emitted twice, errors retried."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentforge.harnesses.swebench.environment import EnvSpec
from agentforge.training.synth.swe import build
from agentforge.training.synth.swe.journal import ERROR, KEPT, REJECTED, SynthJournal
from agentforge.training.synth.swe.sdist import Layout, PackageRef


def test_journal_keeps_the_last_record_and_skips_a_torn_line(tmp_path):
    journal = SynthJournal(tmp_path / "j.jsonl")
    journal.append({"id": "a", "status": ERROR})
    journal.append({"id": "b", "status": REJECTED})
    journal.append({"id": "a", "status": KEPT})
    with open(journal.path, "ab") as f:
        f.write(b'{"id": "c", "sta')  # killed mid-write
    assert {k: r["status"] for k, r in journal.load().items()} == {"a": KEPT, "b": REJECTED}
    journal.append({"id": "d", "status": KEPT})  # starts a fresh line after the torn one
    assert list(journal.load()) == ["a", "b", "d"]


@pytest.fixture
def fake_pipeline(tmp_path, monkeypatch):
    """synthesize_async over a tiny tree with the sandbox parts replaced: try_site keeps even-line sites."""
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "m.py").write_text("".join(f"def f{i}(a):\n    return a < {i}\n\n" for i in range(8)))
    layout = Layout(source_root="", modules=["pkg"], source_files=["pkg/m.py"], tests=["tests"])
    calls: list[str] = []
    failing: set[str] = set()

    def prepare(ref, out_dir):
        return build.Prepared(ref=ref, tree=tree, layout=layout, env_spec=EnvSpec(pip=[]), mirror=tmp_path / "m",
                              base_commit="0" * 40)

    async def env(spec, kind, log=None):
        return None

    async def baseline(prepared, kind, env, options, out_dir, report):
        report.seconds["baseline_1"] = 1.0
        return ["tests/t.py::test_a"]

    async def try_site(ctx, site):
        ident = build.instance_id("demo", "1.0", site.kind, site.digest)
        calls.append(ident)
        await asyncio.sleep(0)
        if ident in failing:
            raise RuntimeError("sandbox fell over")
        if site.line % 2:
            return build._record(ident, ctx.prepared, site, REJECTED, "no_test_fails", seconds={"run": 0.1})
        return build._record(ident, ctx.prepared, site, KEPT, seconds={"run": 0.1},
                             instance={"instance_id": ident})

    monkeypatch.setattr(build, "prepare_package", prepare)
    monkeypatch.setattr(build, "build_env", env)
    monkeypatch.setattr(build, "baseline", baseline)
    monkeypatch.setattr(build, "try_site", try_site)
    monkeypatch.setattr(build, "resolve_kind", lambda kind: "local")

    def run(per_package: int, concurrency: int = 2):
        options = build.SynthOptions(per_package=per_package, concurrency=concurrency, progress=False,
                                     kinds=("flip_comparison",))
        return asyncio.run(build.synthesize_async([PackageRef("demo", "1.0")], tmp_path / "out", "local", options))

    return run, calls, failing, tmp_path / "out"


def rows(out: Path) -> list[str]:
    return [json.loads(line)["instance_id"] for line in (out / "instances.jsonl").read_text().splitlines()]


def test_resume_continues_without_redoing_or_double_emitting(fake_pipeline):
    run, calls, _, out = fake_pipeline
    first = run(per_package=2)
    assert first.instances == 2 and first.new == 2
    assert len(rows(out)) == 2
    tried_first = list(calls)
    calls.clear()
    second = run(per_package=3)
    assert second.instances == 3 and second.new == 1
    assert len(set(rows(out))) == 3
    journal = SynthJournal(out / "journal.jsonl").load()
    finished_before = {i for i in tried_first if journal[i]["status"] in (KEPT, REJECTED)}
    assert not finished_before & set(calls)  # nothing finished was run again
    stats = json.loads((out / "stats.json").read_text())
    assert stats["packages"][0]["kept"] == 3


def test_a_kill_between_journal_and_instances_file_is_repaired(fake_pipeline):
    run, calls, _, out = fake_pipeline
    run(per_package=3)
    lines = (out / "instances.jsonl").read_text().splitlines()
    (out / "instances.jsonl").write_text("\n".join(lines[:-1]) + "\n")  # the last append never happened
    with open(out / "journal.jsonl", "ab") as f:
        f.write(b'{"id": "torn')
    calls.clear()
    again = run(per_package=3)
    assert calls == [] and again.new == 0
    assert rows(out) == [json.loads(line)["instance_id"] for line in lines]


def test_machinery_errors_are_journaled_and_retried(fake_pipeline):
    run, calls, failing, out = fake_pipeline
    run(per_package=1, concurrency=1)
    calls.clear()
    # the next untried sites fail with an infrastructure error
    failing.update(build.instance_id("demo", "1.0", "flip_comparison", d) for d in _all_digests(out))
    broken = run(per_package=2, concurrency=1)
    assert broken.new == 0 and broken.packages[0].errors
    errored = {i for i, r in SynthJournal(out / "journal.jsonl").load().items() if r["status"] == ERROR}
    assert errored
    failing.clear()
    calls.clear()
    fixed = run(per_package=2, concurrency=1)
    assert fixed.new == 1
    assert set(calls) & errored


def _all_digests(out: Path) -> list[str]:
    from agentforge.training.synth.swe.mutate import find_sites

    source = "".join(f"def f{i}(a):\n    return a < {i}\n\n" for i in range(8))
    return [s.digest for s in find_sites(source, "pkg/m.py", ["flip_comparison"])]


def test_cli_runs_the_pipeline_and_prints_a_summary(fake_pipeline):
    from typer.testing import CliRunner

    from agentforge.training.synth.swe.cli import synth_app

    _, _, _, out = fake_pipeline
    result = CliRunner().invoke(synth_app, ["swe", "-p", "demo==1.0", "--out", str(out), "--per-package", "2",
                                            "--sandbox", "local", "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["instances"] == 2 and summary["packages"][0]["package"] == "demo==1.0"
    bad = CliRunner().invoke(synth_app, ["swe", "-p", "demo>=1", "--out", str(out)])
    assert bad.exit_code == 2
