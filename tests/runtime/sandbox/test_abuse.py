"""Attacks an adversarial review made on the sandboxes, each one contained.

Host secrets through the docker output file, root-owned files read by bwrap
commands, filling the host's disk, and build commands reaching the host's
loopback services. Everything here is the real backend (bubblewrap, a Docker
engine, loop mounts), as root the way our machines and CI run.
"""

from __future__ import annotations

import asyncio
import glob
import os
import socket
import stat
import subprocess
import tempfile
import threading
import uuid

import pytest

from agentforge.runtime.sandbox import Limits, SandboxError

from .conftest import ALL, ISOLATING

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the attack is on a root host; elsewhere the user's "
                                                         "own permissions apply")


# ---------------------------------------------------------------- docker's output file

@pytest.mark.docker
async def test_docker_output_file_cannot_be_pointed_at_a_host_file(sandbox_factory, tmp_path):
    token = f"host-secret-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(token)
    secret.chmod(0o600)
    box = await sandbox_factory("docker")
    result = await box.exec(f"rm -f /.agentforge-out/log; ln -sf {secret} /.agentforge-out/log; echo replaced")
    assert token not in result.output
    assert "replaced" in result.output  # the command's own output still comes back


def _release_blocked_readers() -> None:
    """Open (for writing) any FIFO a host thread may be blocked on, so a failing test ends."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "agentforge-out-*", "log")):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


@pytest.mark.docker
async def test_docker_output_fifo_does_not_hang_the_host(sandbox_factory):
    box = await sandbox_factory("docker")
    try:
        result = await asyncio.wait_for(
            box.exec("rm -f /.agentforge-out/log; mkfifo /.agentforge-out/log; echo after"), timeout=90)
    finally:
        _release_blocked_readers()
    assert result.returncode == 0 and "after" in result.output


# ---------------------------------------------------------------- bwrap on a root host

@needs_root
async def test_bwrap_commands_cannot_read_root_only_files(sandbox_factory):
    token = f"root-only-{uuid.uuid4().hex}"
    secrets = [f"/etc/agentforge-secret-{uuid.uuid4().hex[:8]}", f"/opt/agentforge-secret-{uuid.uuid4().hex[:8]}"]
    try:
        for path in secrets:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, token.encode())
            os.close(fd)
        box = await sandbox_factory("bwrap")
        result = await box.exec(f"id -u; for f in {' '.join(secrets)}; do cat $f; cp $f . ; done; "
                                "cat *secret* ; true")
        assert token not in result.output
        assert not any(token in p.read_text() for p in box.workspace.iterdir() if p.is_file())
        assert result.output.splitlines()[0] != "0"  # not the host's root
    finally:
        for path in secrets:
            if os.path.exists(path):
                os.unlink(path)


@needs_root
async def test_bwrap_shows_only_a_minimal_etc(sandbox_factory):
    box = await sandbox_factory("bwrap")
    result = await box.exec("ls /etc")
    visible = set(result.output.split())
    assert {"passwd", "group", "hosts", "ssl", "ld.so.cache"} <= visible
    assert not visible & {"shadow", "gshadow", "sudoers", "ssh", "pip.conf", "npmrc", "docker", "apt", "subuid"}
    gitconfig = await box.exec("cat /etc/gitconfig")  # ours, without the host's credential helpers
    assert gitconfig.output == "[safe]\n\tdirectory = *\n"


@needs_root
async def test_bwrap_workspace_stays_writable_and_goes_back_to_its_owner(sandbox_factory, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir(mode=0o700)
    (workspace / "host.txt").write_text("from the host\n")
    box = await sandbox_factory("bwrap", workspace=workspace)
    await box.write_file("sub/written.txt", "by the file API\n")
    result = await box.exec("echo more >> host.txt && echo more >> sub/written.txt && mkdir -p new && "
                            "touch new/f && git init -q && git add -A && echo ok")
    assert result.returncode == 0 and "ok" in result.output, result.output
    # git on the host still trusts the repository while the sandbox is open
    status = subprocess.run(["git", "status", "--porcelain"], cwd=workspace, capture_output=True, text=True)
    assert status.returncode == 0 and "A  host.txt" in status.stdout, status.stderr
    await box.stop()
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in [workspace, *workspace.rglob("*")]}
    assert owners == {(0, 0)}
    assert stat.S_IMODE(workspace.stat().st_mode) == 0o700
    assert (workspace / "host.txt").read_text() == "from the host\nmore\n"


# ---------------------------------------------------------------- the disk

def disk_limits() -> Limits:
    return Limits(timeout=60, memory_mb=512, pids=64, disk_mb=64)


@needs_root
@pytest.mark.parametrize("kind", ALL)
async def test_filling_the_workspace_hits_the_disk_limit(sandbox_factory, kind):
    box = await sandbox_factory(kind, limits=disk_limits())
    result = await box.exec("head -c 200000000 /dev/zero > big")
    assert result.error == "the disk limit was reached: commands may add 64 MB to the workspace and /tmp " \
                           "together; delete files to make room"
    assert "No space left on device" in result.output
    assert (box.workspace / "big").stat().st_size < 64 * 1024 * 1024  # not the 200 MB it asked for
    after = await box.exec("rm big && echo freed")
    assert after.output == "freed\n" and after.error is None


@needs_root
@pytest.mark.parametrize("kind", ISOLATING)
async def test_filling_tmp_hits_the_disk_limit(sandbox_factory, kind):
    box = await sandbox_factory(kind, limits=disk_limits())
    result = await box.exec("head -c 200000000 /dev/zero > /tmp/big")
    assert "No space left on device" in result.output
    assert result.error.startswith("the disk limit was reached: commands may add 64 MB")
    fresh = await box.exec("ls -A /tmp | wc -l")  # every command gets an empty /tmp again
    assert fresh.output.strip() == "0" and fresh.error is None


@needs_root
@pytest.mark.parametrize("kind", ALL)
async def test_workspace_changes_outlive_the_disk_limit(sandbox_factory, tmp_path, kind):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    shared = tmp_path / "shared-object"
    shared.write_text("shared\n")
    os.link(shared, workspace / "linked")  # as a git clone hard-links a mirror's objects
    untouched = tmp_path / "untouched-object"
    untouched.write_text("untouched\n")
    os.link(untouched, workspace / "kept-link")
    (workspace / "gone.txt").write_text("x\n")
    (workspace / "same-size.txt").write_text("aaaa\n")
    (workspace / "run.sh").write_text("echo hi\n")
    (workspace / "pointer").symlink_to("gone.txt")
    box = await sandbox_factory(kind, workspace=workspace, limits=disk_limits())
    result = await box.exec("rm gone.txt; echo made > made.txt; chmod u+w linked; echo changed > linked; "
                            "touch -r same-size.txt /tmp/t; echo bbbb > same-size.txt; touch -r /tmp/t same-size.txt; "
                            "chmod +x run.sh; ln -sfn made.txt pointer; mkdir -p new/deep; echo x > new/deep/f; "
                            "echo ok")
    assert result.output.endswith("ok\n"), result.output
    await box.stop()
    assert sorted(p.name for p in workspace.iterdir()) == ["kept-link", "linked", "made.txt", "new", "pointer",
                                                           "run.sh", "same-size.txt"]
    assert (workspace / "linked").read_text() == "changed\n"
    assert shared.read_text() == "shared\n"  # the link was replaced, never written through
    assert os.path.samefile(untouched, workspace / "kept-link")  # untouched files are left as they were
    assert (workspace / "same-size.txt").read_text() == "bbbb\n"  # same size and time, other bytes
    assert os.access(workspace / "run.sh", os.X_OK)
    assert os.readlink(workspace / "pointer") == "made.txt"
    assert (workspace / "new/deep/f").read_text() == "x\n"


@needs_root
async def test_the_disk_limit_is_on_what_commands_add(sandbox_factory, tmp_path):
    # A repository larger than the limit still opens; the limit bounds the growth.
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "huge").write_bytes(os.urandom(80 * 1024 * 1024))
    box = await sandbox_factory("bwrap", workspace=workspace, limits=disk_limits())
    fits = await box.exec("head -c 40000000 /dev/zero > added && echo fits")
    assert fits.output == "fits\n" and fits.error is None
    over = await box.exec("head -c 40000000 /dev/zero > more")
    assert "No space left on device" in over.output and over.error.startswith("the disk limit was reached")
    many = await box.exec("rm more; mkdir many && cd many && for i in $(seq 20000); do : > f$i || break; done; "
                          "ls | wc -l")
    assert int(many.output.split()[-1]) == 20000  # small files are not refused for want of inodes


@needs_root
async def test_a_workspace_left_mounted_by_a_killed_process_is_given_back(tmp_path):
    import sys

    from agentforge.runtime.sandbox.disk import DiskLimit

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "before.txt").write_text("before\n")
    script = ("import asyncio, sys, time; from pathlib import Path\n"
              "from agentforge.runtime.sandbox.disk import DiskLimit\n"
              "async def main():\n"
              "    await DiskLimit.attach(Path(sys.argv[1]), 64)\n"
              "    (Path(sys.argv[1]) / 'during.txt').write_text('during\\n')\n"
              "    print('ready', flush=True)\n"
              "    time.sleep(600)\n"
              "asyncio.run(main())\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(workspace)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
    finally:
        child.kill()
        child.wait()
    assert os.path.ismount(workspace)  # what a killed process leaves behind
    other = tmp_path / "other"
    other.mkdir()
    disk = await DiskLimit.attach(other, 64)  # the next sandbox to start cleans up
    await disk.detach()
    assert not os.path.ismount(workspace)
    assert sorted(p.name for p in workspace.iterdir()) == ["before.txt", "during.txt"]


# ---------------------------------------------------------------- the build network

@pytest.fixture
def loopback_server():
    """A TCP service on the host's 127.0.0.1 that answers every connection with a secret."""
    token = f"loopback-{uuid.uuid4().hex}"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(token.encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], token
    stop.set()
    thread.join()
    server.close()


def _probe(port: int) -> str:
    return (f"for host in 127.0.0.1 10.0.2.2 172.17.0.1; do python3 -c \"import socket,sys; "
            f"s=socket.create_connection((sys.argv[1], {port}), timeout=3); print(s.recv(100).decode())\" $host "
            "2>&1 | tail -1; done")


@pytest.mark.parametrize("kind", ISOLATING)
async def test_build_network_cannot_reach_host_loopback(sandbox_factory, loopback_server, kind):
    port, token = loopback_server
    assert socket.create_connection(("127.0.0.1", port), timeout=3).recv(100).decode() == token  # it is up
    box = await sandbox_factory(kind, network=True)
    result = await box.exec(_probe(port) + "; python3 -c \"import socket; print(socket.getaddrinfo('pypi.org', 443)"
                                           "[0][4][0])\" && echo RESOLVED")
    assert token not in result.output
    assert "RESOLVED" in result.output  # the network itself works


async def test_build_network_gets_no_credentials(sandbox_factory, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://builder:s3cr3t-token@index.example/simple")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "77")
    box = await sandbox_factory("bwrap", network=True)
    result = await box.exec("env")
    assert "s3cr3t-token" not in result.output
    assert "PIP_DEFAULT_TIMEOUT=77" in result.output  # harmless settings still come through


async def test_without_user_mode_networking_network_commands_are_opt_in(sandbox_factory, monkeypatch,
                                                                       loopback_server):
    from agentforge.runtime.sandbox import usernet

    port, token = loopback_server
    monkeypatch.setattr(usernet, "slirp_binary", lambda: None)
    monkeypatch.delenv(usernet.HOST_NETWORK_OPT_IN, raising=False)
    box = await sandbox_factory("bwrap", network=True)
    with pytest.raises(SandboxError, match="need slirp4netns"):
        await box.exec("true")
    monkeypatch.setenv(usernet.HOST_NETWORK_OPT_IN, "1")
    result = await box.exec(_probe(port))
    assert token in result.output  # opted in: the host's network, as the warning says
