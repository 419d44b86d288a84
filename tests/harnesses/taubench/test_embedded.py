"""A real τ-bench episode: the embedded model (SmolLM2-135M) as the agent AND as the user simulator.

Its score is near 0; the point is that real model output (prose, malformed or wrong tool calls) goes
through the official orchestrator, environment and evaluator end to end, and that the official
`tau2 evaluate-trajs` re-grades the Results file to the same rewards. Hops are capped (a custom run)
to keep CI short; BENCHMARKS.md has an official-length run."""

from __future__ import annotations

import asyncio

import pytest

from agentforge.harnesses.run import run_harness
from agentforge.harnesses.taubench.bench import TauConfig, TauHarness
from agentforge.harnesses.taubench.official_venv import regrade

from tests.harnesses.taubench.conftest import records


@pytest.mark.model
@pytest.mark.slow
def test_embedded_agent_and_user_run_end_to_end_and_regrade_identically(tmp_path, embedded):
    run_dir = tmp_path / "run"
    config = TauConfig(model="embedded", user_model="embedded", limit=2, max_steps=8, max_tokens=96,
                       user_max_tokens=48, concurrency=2)
    _, summary = asyncio.run(run_harness(TauHarness(), config, run_dir, backend=embedded, progress=False))
    recs = records(run_dir)
    assert [r["status"] for r in recs] == ["ok", "ok"], recs
    assert all(r["detail"]["agent_calls"] >= 1 and r["tokens"] > 0 for r in recs)
    assert summary["simulations"] == 2 and "custom (max_steps 8)" in summary["title"]
    ours = {(r["task_id"].split("/", 1)[1], r["sample"]): r["detail"]["reward"] for r in recs}
    assert regrade(run_dir / "results" / "retail.json", tmp_path / "official") == ours
