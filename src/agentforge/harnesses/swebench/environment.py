"""Python environments for repositories under test, built once and cached.

An environment is a venv holding a repository's dependencies (not the
repository itself): commands see it first on PATH, and PYTHONPATH points into
the workspace, so tests always import the code being edited — no editable
install that could point at a stale copy. It is built inside the sandbox that
will use it (with the network on, only then), so the interpreter and paths match:
bwrap and docker mount it at `ENV_DIR`, the local backend uses it where it lies.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from agentforge.runtime.cache import cache_dir as cache_subdir
from agentforge.runtime.sandbox import Limits, Mount, Sandbox, SandboxError, SandboxSpec, make_sandbox, resolve_kind
from agentforge.runtime.sandbox.base import SYSTEM_PATH

ENV_DIR = "/agentforge/env"  # outside the read-only system dirs, so bwrap can create the mount point
_LOCKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]" = weakref.WeakKeyDictionary()
BUILD_LIMITS = Limits(timeout=1800, memory_mb=8192, pids=4096, output_chars=20_000)


class EnvBuildError(RuntimeError):
    pass


class EnvSpec(BaseModel):
    """What a repository needs to run its tests."""

    pip: list[str] = Field(default_factory=list, description="requirements installed into the venv")
    pythonpath: list[str] = Field(default_factory=lambda: ["."], description="workspace dirs put on PYTHONPATH")
    python: str = Field("python3", description="interpreter that creates the venv, as the sandbox sees it")

    def key(self, kind: str, image: str | None) -> str:
        blob = json.dumps([self.model_dump(), kind, image], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EnvHandle:
    spec: EnvSpec
    kind: str
    path: Path  # the venv on the host
    image: str | None = None

    @property
    def inside(self) -> str:
        """The venv's path as commands see it."""
        return str(self.path) if self.kind == "local" else ENV_DIR


def cache_root() -> Path:
    """The SWE-bench environments' cache: swe-envs/ under the cache root (runtime/cache.py).
    AGENTFORGE_ENV_CACHE, from before there was one root, still names another place for them."""
    return Path(os.environ.get("AGENTFORGE_ENV_CACHE") or cache_subdir("swe-envs"))


async def build_env(spec: EnvSpec, kind: str = "auto", *, image: str | None = None,
                    cache_dir: Path | None = None, log=None) -> EnvHandle:
    """The cached venv for `spec` on backend `kind`, built now if missing (safe across processes)."""
    kind = resolve_kind(kind)
    if kind == "docker" and image is None:
        from agentforge.runtime.sandbox.docker import DEFAULT_IMAGE

        image = DEFAULT_IMAGE
    root = Path(cache_dir or cache_root())
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{kind}-{spec.key(kind, image)}"
    handle = EnvHandle(spec=spec, kind=kind, path=path, image=image)
    if (path / ".complete").exists():
        return handle
    # One build per key in this process (an asyncio lock), and across processes
    # (a file lock, polled: a blocking flock would tie up an executor thread that
    # the build itself needs).
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})  # asyncio locks belong to one loop
    async with locks.setdefault(path.name, asyncio.Lock()):
        if (path / ".complete").exists():
            return handle
        with open(root / f"{path.name}.lock", "w") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.5)
            try:
                if not (path / ".complete").exists():
                    if log:
                        log(f"building environment {path.name}: {' '.join(spec.pip) or '(no packages)'}")
                    await _build(handle)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return handle


async def _build(handle: EnvHandle) -> None:
    path, spec = handle.path, handle.spec
    if path.exists():
        shutil.rmtree(path)  # a build that died half-way
    path.mkdir(parents=True)
    venv = handle.inside
    pip = " ".join(shlex.quote(r) for r in spec.pip)
    command = f"{shlex.quote(spec.python)} -m venv {venv} && {venv}/bin/python -m pip install -q --upgrade pip"
    if pip:
        command += f" && {venv}/bin/python -m pip install -q {pip}"
    mounts = [] if handle.kind == "local" else [Mount(path, ENV_DIR, writable=True)]
    with tempfile.TemporaryDirectory(prefix="agentforge-envbuild-") as scratch:
        box = make_sandbox(handle.kind, SandboxSpec(workspace=Path(scratch), network=True, mounts=mounts,
                                                    limits=BUILD_LIMITS, image=handle.image))
        async with box:
            result = await box.exec(command)
    if not result.ok:
        shutil.rmtree(path, ignore_errors=True)
        raise EnvBuildError(f"building the environment ({', '.join(spec.pip)}) failed with exit code "
                            f"{result.returncode}{': ' + result.error if result.error else ''}\n{result.output[-3000:]}")
    (path / ".complete").write_text(json.dumps(spec.model_dump()))


def env_variables(env: EnvHandle | None, workdir: str) -> dict[str, str]:
    """PATH, VIRTUAL_ENV and PYTHONPATH for commands in `workdir` using `env`."""
    if env is None:
        return {}
    base = os.environ.get("PATH", SYSTEM_PATH) if env.kind == "local" else SYSTEM_PATH
    paths = [workdir if p in (".", "") else f"{workdir}/{p.strip('/')}" for p in env.spec.pythonpath]
    return {"PATH": f"{env.inside}/bin:{base}", "VIRTUAL_ENV": env.inside, "PYTHONPATH": ":".join(paths)}


def env_sandbox(kind: str, workspace: Path, env: EnvHandle | None, limits: Limits | None = None,
                mounts: list[Mount] | None = None) -> Sandbox:
    """A sandbox on `workspace` whose commands use `env` (no network)."""
    kind = resolve_kind(kind)
    if env is not None and env.kind != kind:
        raise SandboxError(f"environment built for {env.kind} cannot serve a {kind} sandbox")
    all_mounts = list(mounts or [])
    if env is not None and kind != "local":
        all_mounts.append(Mount(env.path, ENV_DIR, writable=False))
    box = make_sandbox(kind, SandboxSpec(workspace=workspace, limits=limits or Limits(), mounts=all_mounts,
                                         image=env.image if env else None))
    box.spec.env.update(env_variables(env, box.workdir))
    return box
