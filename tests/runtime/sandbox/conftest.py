"""Sandbox fixtures. Every backend here is the real thing: bubblewrap, a real
Docker engine (CI installs docker.io and starts dockerd; the base image is
built with debootstrap on first use), and plain host processes."""

from __future__ import annotations

import pytest

from agentforge.runtime.sandbox import Limits, SandboxSpec, make_sandbox

ISOLATING = ["bwrap", pytest.param("docker", marks=pytest.mark.docker)]
ALL = [*ISOLATING, "local"]
TIGHT = Limits(timeout=4, memory_mb=256, pids=64, output_chars=2000, max_output_bytes=8 * 1024 * 1024)


@pytest.fixture
async def sandbox_factory(tmp_path):
    """make(kind, **spec_fields) → a started sandbox on a fresh workspace under tmp_path."""
    opened = []

    async def make(kind: str, limits: Limits = TIGHT, **fields):
        workspace = fields.pop("workspace", None) or tmp_path / f"ws-{len(opened)}"
        workspace.mkdir(parents=True, exist_ok=True)
        box = make_sandbox(kind, SandboxSpec(workspace=workspace, limits=limits, **fields))
        opened.append(box)  # stopped even if start fails half-way (a mounted disk limit)
        await box.start()
        return box

    yield make
    for box in opened:
        await box.stop()
