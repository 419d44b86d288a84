from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentforge.harnesses.run import run_harness
from agentforge.harnesses.taubench import package
from agentforge.harnesses.taubench.bench import TauConfig, TauHarness


@pytest.fixture(scope="session")
def retail_tasks():
    return package.load_domain_tasks("retail")


@pytest.fixture(scope="session")
def airline_tasks():
    return package.load_domain_tasks("airline")


def run_tau(run_dir: Path, agent, user, **settings) -> dict:
    """Run the harness with started agent and user backends; returns summary.json."""
    config = TauConfig(model=getattr(agent, "name", "agent"), user_model="scripted-user", **settings)
    _, summary = asyncio.run(run_harness(TauHarness(user=user), config, run_dir, backend=agent, progress=False))
    return summary


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines() if line.strip()]


def simulation(run_dir: Path, record: dict) -> dict:
    return json.loads((run_dir / record["trajectory"]).read_text())
