"""The whole pipeline on a real PyPI package in bwrap: download, mutate, test, validate, emit.

Needs PyPI (pip download; cached in the user cache afterwards) and bubblewrap.
cachetools' 215 tests run in about a second, so this stays short.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from agentforge.runtime.sandbox.bwrap import bwrap_binary

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bwrap_binary() is None, reason="needs bubblewrap")]

PACKAGE = "cachetools==5.5.0"


def test_synthesize_a_real_package(tmp_path):
    from agentforge.harnesses.swebench.evaluate import evaluate
    from agentforge.harnesses.swebench.instances import load_instances
    from agentforge.harnesses.swebench.repos import RepoSource
    from agentforge.training.synth.swe import synthesize
    from agentforge.training.synth.swe.repo import resolve

    out = tmp_path / "out"
    stats = synthesize([PACKAGE], out, kind="bwrap", per_package=3, seed=0, concurrency=2, progress=False)
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
    gold = asyncio.run(evaluate(first, first.patch, kind="bwrap", repos=source, timeout=300))
    empty = asyncio.run(evaluate(first, "", kind="bwrap", repos=source, timeout=300))
    assert gold.resolved, gold.error or gold.log[-2000:]
    assert not empty.resolved and empty.grade is not None

    # a second run resumes: nothing new, nothing duplicated
    again = synthesize([PACKAGE], out, kind="bwrap", per_package=3, seed=0, progress=False)
    assert again.new == 0 and again.instances == 3
    ids = [json.loads(line)["instance_id"] for line in (out / "instances.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 3
