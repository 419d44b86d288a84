"""Sandboxes for model-written commands: bwrap (default), docker, local (no isolation).

    async with make_sandbox("bwrap", SandboxSpec(workspace=path)) as box:
        result = await box.exec("pytest -q")
        print(result.observation())
"""

from __future__ import annotations

from .base import (DIFF_CHARS, WORKDIR, ExecResult, Limits, Mount, OutputCap, Sandbox, SandboxError,
                   SandboxSpec)

KINDS = ("auto", "bwrap", "docker", "local")


def available_kinds(first_only: bool = False) -> list[str]:
    """Isolating backends usable on this machine, best first (`first_only`: stop at the first)."""
    from .bwrap import bwrap_binary

    found = []
    if bwrap_binary():
        found.append("bwrap")
        if first_only:
            return found
    try:
        from .docker import docker_client

        docker_client()
        found.append("docker")
    except SandboxError:
        pass
    return found


def resolve_kind(kind: str) -> str:
    """'auto' means the best isolating backend here; never 'local' unless asked for."""
    if kind not in KINDS:
        raise SandboxError(f"unknown sandbox {kind!r}; choose one of {', '.join(KINDS)}")
    if kind != "auto":
        return kind
    found = available_kinds(first_only=True)  # bwrap found: no round trip to a docker engine
    if not found:
        raise SandboxError("no isolating sandbox here: install bubblewrap (`apt-get install bubblewrap`) "
                           "or start a Docker engine; `--sandbox local` runs without isolation")
    return found[0]


def make_sandbox(kind: str, spec: SandboxSpec) -> Sandbox:
    kind = resolve_kind(kind)
    if kind == "bwrap":
        from .bwrap import BwrapSandbox

        return BwrapSandbox(spec)
    if kind == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(spec)
    from .local import LocalSandbox

    return LocalSandbox(spec)


__all__ = ["DIFF_CHARS", "KINDS", "WORKDIR", "ExecResult", "Limits", "Mount", "OutputCap", "Sandbox",
           "SandboxError", "SandboxSpec", "available_kinds", "make_sandbox", "resolve_kind"]
