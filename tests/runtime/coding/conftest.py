"""Fixtures: a tiny buggy git repository and a real bwrap sandbox on it."""

from __future__ import annotations

import pytest

from agentforge.runtime.sandbox import Limits, SandboxSpec, make_sandbox
from tests.runtime.coding.scripting import make_repo

LIMITS = Limits(timeout=20, memory_mb=1024, pids=128)


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.fixture
async def box(repo):
    sandbox = make_sandbox("bwrap", SandboxSpec(workspace=repo, limits=LIMITS))
    async with sandbox:
        yield sandbox
