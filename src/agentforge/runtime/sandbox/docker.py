"""Docker sandbox: one fresh container per command, the workspace bind-mounted.

A container per command gives the same semantics as the bwrap backend (only
the workspace persists; nothing a command starts outlives it) and makes every
limit the engine's: `--network none`, memory and swap, pids, CPUs, read-only
root file system with a private /tmp, no capabilities, no new privileges.
Needs the `docker` extra and a running engine; images come from a registry
where one is reachable, else from `images.ensure_base_image` (built locally).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

from .base import WORKDIR, ExecResult, OutputCap, Sandbox, SandboxError, SandboxSpec, limit_error

DEFAULT_IMAGE = "agentforge/swe-base:bookworm-2"  # bump when images.py changes what goes in
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
OUT_LOG = "/.agentforge-out/log"  # where a command's output file is mounted
POLL = 0.05  # seconds between checks of a running command
CANCEL_WAIT = 60.0  # seconds a cancelled exec waits for its container to be killed and removed


def docker_client():
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise SandboxError("the docker sandbox needs the docker SDK: pip install 'agentforge[docker]'") from exc
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        raise SandboxError(f"cannot reach a Docker engine ({exc}); start dockerd, or choose --sandbox bwrap") from exc
    return client


class DockerSandbox(Sandbox):
    name = "docker"
    workdir = WORKDIR

    def __init__(self, spec: SandboxSpec, client=None):
        super().__init__(spec)
        self.image = spec.image or DEFAULT_IMAGE
        self._client = client

    async def start(self) -> None:
        if not self.workspace.is_dir():
            raise SandboxError(f"workspace {self.workspace} is not a directory")
        if self._client is None:
            self._client = await asyncio.to_thread(docker_client)
        try:
            await asyncio.to_thread(self._client.images.get, self.image)
        except Exception:
            try:
                await asyncio.to_thread(self._client.images.pull, self.image)
            except Exception as exc:
                hint = ("build it with `agent sandbox build-image`" if self.image == DEFAULT_IMAGE
                        else "pull it where a registry is reachable and `docker load` it here")
                raise SandboxError(f"docker image {self.image} is not here and cannot be pulled ({exc}); "
                                   f"{hint}") from exc
        await super().start()

    def _run_kwargs(self, command: str, env: dict[str, str] | None) -> dict:
        limits = self.limits
        volumes = {str(self.workspace): {"bind": self.workdir, "mode": "rw"}}
        for m in self.spec.mounts:
            volumes[str(m.source)] = {"bind": m.target, "mode": "rw" if m.writable else "ro"}
        if self.disk is not None:  # /tmp counts against the disk limit
            volumes[str(self.disk.tmp)] = {"bind": "/tmp", "mode": "rw"}
        environment = {"HOME": "/tmp", "LANG": "C.UTF-8", "TERM": "dumb", "PYTHONDONTWRITEBYTECODE": "1",
                       "GIT_PAGER": "cat", "PAGER": "cat", **self.spec.env, **(env or {})}
        if self.spec.network and os.path.exists(CA_BUNDLE):
            # The host's CA bundle: where TLS is intercepted, containers need it to reach PyPI.
            volumes[CA_BUNDLE] = {"bind": CA_BUNDLE, "mode": "ro"}
            environment.update(PIP_CERT=CA_BUNDLE, SSL_CERT_FILE=CA_BUNDLE, REQUESTS_CA_BUNDLE=CA_BUNDLE)
        memory = f"{limits.memory_mb}m"
        return dict(
            image=self.image, command=["/bin/bash", "-c", command], detach=True,
            working_dir=self.spec.workdir or self.workdir, environment=environment, volumes=volumes,
            network_mode="bridge" if self.spec.network else "none",
            mem_limit=memory, memswap_limit=memory, pids_limit=limits.pids,
            nano_cpus=int((os.cpu_count() or 1) * 1e9), read_only=not self.spec.writable_root,
            tmpfs={**({} if self.disk is not None else {"/tmp": "size=1g"}), "/run": "size=64m",
                   "/var/tmp": "size=256m"},
            cap_drop=["ALL"], cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"],
            security_opt=["no-new-privileges"], ulimits=self._ulimits(), hostname="sandbox",
            stdin_open=False, tty=False, user=self._user())

    def _user(self) -> str | None:
        """The host user, so files it writes in the workspace stay the user's and git
        trusts the repository; official images (writable root) expect their own root."""
        if os.getuid() == 0 or self.spec.writable_root:
            return None
        return f"{os.getuid()}:{os.getgid()}"

    def _ulimits(self):
        import docker

        size = self.limits.file_size_mb * 1024 * 1024
        return [docker.types.Ulimit(name="fsize", soft=size, hard=size),
                docker.types.Ulimit(name="core", soft=0, hard=0)]

    async def exec(self, command: str, timeout: float | None = None,
                   env: dict[str, str] | None = None, output_chars: int | None = None) -> ExecResult:
        timeout = self.limits.timeout if timeout is None else timeout
        if self.disk is not None:
            await asyncio.to_thread(self.disk.clear_tmp)
        cancelled = threading.Event()  # the thread cannot be cancelled; it watches this instead
        work = asyncio.ensure_future(asyncio.to_thread(self._exec_blocking, command, timeout, env,
                                                       output_chars or self.limits.output_chars, cancelled))
        try:
            return self._note_disk(await asyncio.shield(work))
        except asyncio.CancelledError:
            # The thread kills the container, even one still being created; the
            # cancel completes once it has, so nothing outlives a cancelled exec.
            cancelled.set()
            await asyncio.wait({work}, timeout=CANCEL_WAIT)
            if work.done() and not work.cancelled():
                work.exception()  # retrieved: a failure while cleaning up is not worth a warning
            raise

    def _exec_blocking(self, command: str, timeout: float, env, output_chars: int,
                       cancelled: threading.Event) -> ExecResult:
        if self._client is None:
            raise SandboxError("the docker sandbox was not started")
        started = time.monotonic()
        # Output goes to a file on the host rather than through the engine's log
        # API, which is far too slow to notice a command flooding its output.
        # The file itself is the mount (a mount point cannot be replaced by a
        # symlink or a FIFO), and the host reads it only through a descriptor
        # opened before the container starts, so nothing the command does to the
        # path can make the host read another file or block.
        with tempfile.TemporaryDirectory(prefix="agentforge-out-") as out_dir, _OutputFile(out_dir) as log:
            wrapped = f"exec >{OUT_LOG} 2>&1\n{command}"
            kwargs = self._run_kwargs(wrapped, env)
            kwargs["volumes"][log.path] = {"bind": OUT_LOG, "mode": "rw"}
            timed_out = flooded = False
            pid_hits = 0
            try:
                container = self._client.containers.run(**kwargs)
            except Exception as exc:
                raise SandboxError(f"docker could not start the command: {exc}") from exc
            try:
                deadline = started + timeout
                while not cancelled.is_set():
                    container.reload()
                    if container.status not in ("created", "running"):
                        break
                    # read while it runs: the engine drops the cgroup when the container stops
                    pid_hits = max(pid_hits, _pid_limit_hits(container.id))
                    if log.size() > self.limits.max_output_bytes:
                        flooded = True
                        break
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    time.sleep(POLL)
                if timed_out or flooded or cancelled.is_set():
                    _kill(container)
                state = container.wait(timeout=60)
                returncode = int(state.get("StatusCode", 137))
                container.reload()
                oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            finally:
                try:
                    container.remove(force=True)
                except Exception:
                    pass
            cap = OutputCap(output_chars)
            log.read_capped(cap)
        error = limit_error(self.limits, timed_out=timed_out, flooded=flooded, timeout=timeout, oom=oom,
                            pid_limit=bool(pid_hits), signal=9 if returncode == 137 else None)
        return ExecResult(returncode=returncode, output=cap.text(), seconds=time.monotonic() - started,
                          timed_out=timed_out, truncated=cap.truncated, error=error)


class _OutputFile:
    """A command's output file on the host, read only through the descriptor opened at creation."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, "log")
        self.fd = -1

    def __enter__(self) -> "_OutputFile":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        os.fchmod(self.fd, 0o666)  # the container's user may not be ours (umask would narrow it)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read_capped(self, cap: OutputCap) -> None:
        """Feed the head and the tail of a possibly huge file into `cap`, skipping the middle."""
        size = self.size()
        if size <= 4 * cap.chars:
            cap.feed(os.pread(self.fd, size, 0).decode("utf-8", errors="replace"))
            return
        head = os.pread(self.fd, cap.half * 4, 0).decode("utf-8", errors="replace")[:cap.half]
        tail = os.pread(self.fd, cap.half * 4, size - cap.half * 4).decode("utf-8", errors="replace")[-cap.half:]
        cap.head, cap.tail, cap.total = head, tail, size  # bytes, close enough to characters for the notice


def _pid_limit_hits(container_id: str) -> int:
    """How often the container hit its pids limit (cgroup v1 and v2 layouts of the cgroupfs driver)."""
    for path in (Path("/sys/fs/cgroup/pids/docker") / container_id / "pids.events",
                 Path("/sys/fs/cgroup/system.slice") / f"docker-{container_id}.scope" / "pids.events",
                 Path("/sys/fs/cgroup/docker") / container_id / "pids.events"):
        try:
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value)
        except (OSError, ValueError):
            continue
    return 0


def _kill(container) -> None:
    try:
        container.kill()
    except Exception:
        pass
