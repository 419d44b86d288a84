"""The whole pipeline on a real PyPI package, in bwrap and in docker: download,
mutate, test, validate, emit; then the SWE-bench harness grades the set
(gold 100%, empty 0%).

Needs PyPI (the sdist, then cached in the user cache; the venv), bubblewrap and
a Docker engine (CI installs both). cachetools' 215 tests run in about a second.
"""

from __future__ import annotations

import asyncio
import json

import pytest

pytestmark = pytest.mark.slow

PACKAGE = "cachetools==5.5.0"


@pytest.mark.parametrize("kind", ["bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def test_synthesize_a_real_package(tmp_path, kind):
    from agentforge.harnesses.swebench.evaluate import evaluate
    from agentforge.harnesses.swebench.instances import load_instances
    from agentforge.harnesses.swebench.repos import RepoSource
    from agentforge.training.synth.swe import synthesize
    from agentforge.training.synth.swe.repo import resolve

    out = tmp_path / "out"
    stats = synthesize([PACKAGE], out, kind=kind, per_package=3, seed=0, concurrency=2, progress=False)
    report = stats.packages[0]
    assert report.error is None, report.error
    assert report.baseline_tests > 100
    assert stats.instances == 3 == report.kept

    instances = load_instances(out / "instances.jsonl")
    mirror = out / "repos" / "pypi__cachetools"
    for instance in instances:
        assert instance.repo == "pypi/cachetools"
        assert instance.FAIL_TO_PASS, instance.instance_id
        assert not set(instance.FAIL_TO_PASS) & set(instance.PASS_TO_PASS)
        assert resolve(mirror, f"refs/tags/agentforge/{instance.instance_id}") == instance.base_commit
        assert instance.patch.startswith("diff --git a/src/cachetools/")
        assert instance.environment is not None and instance.environment.pythonpath == ["src"]
        assert instance.problem_statement.strip()
        assert instance.base_commit[:12] not in instance.problem_statement

    # the gold patch scores 100%, the empty patch 0%, through the harness itself
    first = instances[0]
    source = RepoSource(mirror=out / "repos")
    gold = asyncio.run(evaluate(first, first.patch, kind=kind, repos=source, timeout=300))
    empty = asyncio.run(evaluate(first, "", kind=kind, repos=source, timeout=300))
    assert gold.resolved, gold.error or gold.log[-2000:]
    assert not empty.resolved and empty.grade is not None

    # the whole set through `agent bench swebench`'s code: gold 100%, empty 0%
    from agentforge.harnesses.swebench.bench import SweConfig, run_swebench

    for patches, expected in (("gold", 1.0), ("empty", 0.0)):
        config = SweConfig(instances=str(out / "instances.jsonl"), repos=str(out / "repos"), source=patches,
                           sandbox=kind)
        run_stats, summary = asyncio.run(run_swebench(config, tmp_path / patches, progress=False))
        assert run_stats.errors == 0, run_stats.error_messages
        assert summary["tasks"] == 3 and summary["aggregate"]["overall"]["pass@1"] == expected

    # a second run resumes: nothing new, nothing duplicated
    again = synthesize([PACKAGE], out, kind=kind, per_package=3, seed=0, progress=False)
    assert again.new == 0 and again.instances == 3
    ids = [json.loads(line)["instance_id"] for line in (out / "instances.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 3
