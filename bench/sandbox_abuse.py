"""Reliability under abuse: each attack on the sandboxes that a review found, and what happens.

    sudo python bench/sandbox_abuse.py          # needs root, bubblewrap and a Docker engine

Runs against whichever agentforge is importable, so the same script gives the
"before" column (an older checkout on PYTHONPATH) and the "after" one. Each
attack is contained to a temporary workspace; the disk attack writes up to
1 GB there (removed afterwards) when no disk limit stops it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

from agentforge.runtime.sandbox import Limits, SandboxSpec, make_sandbox


def limits(**fields) -> Limits:
    """Limits with the fields this version knows (older ones have no disk limit)."""
    known = {f.name for f in dataclasses.fields(Limits)}
    return Limits(**{k: v for k, v in fields.items() if k in known})


async def opened(kind: str, workspace: Path, **spec):
    box = make_sandbox(kind, SandboxSpec(workspace=workspace, **spec))
    await box.start()
    return box


async def docker_output_symlink(ws: Path) -> str:
    token = uuid.uuid4().hex
    secret = ws.parent / "host-secret"
    secret.write_text(token)
    box = await opened("docker", ws)
    try:
        result = await box.exec(f"rm -f /.agentforge-out/log; ln -s {secret} /.agentforge-out/log; echo x")
        return "host file leaked" if token in result.output else "not leaked"
    finally:
        await box.stop()


async def docker_output_fifo(ws: Path) -> str:
    box = await opened("docker", ws)
    started = time.monotonic()
    try:
        await asyncio.wait_for(box.exec("rm -f /.agentforge-out/log; mkfifo /.agentforge-out/log; echo x"), 30)
        return f"returned in {time.monotonic() - started:.1f} s"
    except asyncio.TimeoutError:
        for path in glob.glob(os.path.join(tempfile.gettempdir(), "agentforge-out-*", "log")):
            try:  # release the blocked host thread
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        return "hung (> 30 s)"
    finally:
        await box.stop()


async def bwrap_root_file(ws: Path) -> str:
    token = uuid.uuid4().hex
    path = f"/etc/agentforge-abuse-{token[:8]}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, token.encode())
    os.close(fd)
    try:
        box = await opened("bwrap", ws)
        try:
            result = await box.exec(f"cat {path}; echo; id -u")
        finally:
            await box.stop()
    finally:
        os.unlink(path)
    return ("read" if token in result.output else "not readable") + f" (uid {result.output.split()[-1]})"


async def disk_fill(kind: str, ws: Path) -> str:
    box = await opened(kind, ws, limits=limits(timeout=120, disk_mb=256))
    try:
        result = await box.exec("head -c 1000000000 /dev/zero > big")
        size = (ws / "big").stat().st_size if (ws / "big").exists() else 0
        return f"{size // 2 ** 20} MB written; error: {result.error}"
    finally:
        await box.stop()


def loopback_service(token: str) -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve():
        while True:
            conn, _ = server.accept()
            conn.sendall(token.encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


async def build_loopback(kind: str, ws: Path) -> str:
    token = uuid.uuid4().hex
    port = loopback_service(token)
    box = await opened(kind, ws, network=True)
    try:
        result = await box.exec(f"python3 -c \"import socket; "
                                f"print(socket.create_connection(('127.0.0.1', {port}), 3).recv(99))\" 2>&1")
        return "reached" if token in result.output else "not reachable"
    finally:
        await box.stop()


async def build_credentials(ws: Path) -> str:
    os.environ["PIP_INDEX_URL"] = "https://user:tok3n@index.example/simple"
    try:
        box = await opened("bwrap", ws, network=True)
        try:
            result = await box.exec("env")
        finally:
            await box.stop()
    finally:
        del os.environ["PIP_INDEX_URL"]
    return "passed in" if "tok3n" in result.output else "not passed"


async def docker_cancel_while_creating(ws: Path) -> str:
    import docker

    marker = f"agentforge-abuse-{uuid.uuid4().hex[:8]}"
    box = await opened("docker", ws)
    task = asyncio.ensure_future(box.exec(f"exec -a {marker} sleep 60", timeout=60))
    client = docker.from_env()

    def created():
        while not any(marker in " ".join(c.attrs["Config"]["Cmd"] or [])
                      for c in client.containers.list(all=True, ignore_removed=True)):
            time.sleep(0.02)

    await asyncio.to_thread(created)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(15)
    alive = os.popen(f"pgrep -f '[{marker[0]}]{marker[1:]}'").read().strip()
    await box.stop()
    return "still running 15 s later" if alive else "nothing running"


ATTACKS = [
    ("docker: output file replaced by a symlink to a host file", docker_output_symlink),
    ("docker: output file replaced by a FIFO", docker_output_fifo),
    ("bwrap on a root host: read a 0600 root file under /etc", bwrap_root_file),
    ("bwrap: write 1 GB into the workspace (disk limit 256 MB)", lambda ws: disk_fill("bwrap", ws)),
    ("docker: write 1 GB into the workspace (disk limit 256 MB)", lambda ws: disk_fill("docker", ws)),
    ("bwrap build (network on): connect to a host 127.0.0.1 service", lambda ws: build_loopback("bwrap", ws)),
    ("docker build (network on): connect to a host 127.0.0.1 service", lambda ws: build_loopback("docker", ws)),
    ("bwrap build: host PIP_INDEX_URL carries a token", build_credentials),
    ("docker: cancel while the container is being created", docker_cancel_while_creating),
]


async def main() -> None:
    print("| attack | result |\n|---|---|")
    for name, attack in ATTACKS:
        with tempfile.TemporaryDirectory() as tmp:
            workspace = Path(tmp) / "ws"
            workspace.mkdir()
            try:
                outcome = await attack(workspace)
            except Exception as exc:  # an attack the backend refuses outright is an outcome too
                outcome = f"{type(exc).__name__}: {exc}"
        print(f"| {name} | {outcome} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
