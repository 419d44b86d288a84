"""The escape suite: what a hostile or broken command tries, and how each backend contains it.

Isolation (network, files outside the workspace) is checked for bwrap and
docker; resource limits (time, output, memory, processes) for every backend,
local included. Every breach must come back as a clean `ExecResult`, never an
exception, with `error` saying what happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
import uuid

import pytest

from .conftest import ALL, ISOLATING

def _running(marker: str) -> str:
    """pids of host processes whose command line holds `marker` ([x]yz keeps pgrep's shell out)."""
    return os.popen(f"pgrep -f '[{marker[0]}]{marker[1:]}'").read().strip()


def _until_container(client, marker: str, seconds: float = 60.0) -> bool:
    """Wait (blocking) for a container whose command holds `marker`, in any state."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for container in client.containers.list(all=True, sparse=False, ignore_removed=True):
            if marker in " ".join(container.attrs.get("Config", {}).get("Cmd") or []):
                return True
        time.sleep(0.02)
    return False


async def _until(condition, seconds: float = 30.0) -> bool:
    """Poll `condition` until it holds or `seconds` pass (generous: the machine may be loaded)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


NET_PROBE = ("python3 -c \"import socket; s=socket.create_connection(('1.1.1.1', 53), timeout=3); "
             "print('CONNECTED')\"")


@pytest.mark.parametrize("kind", ISOLATING)
async def test_no_network(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    result = await box.exec(NET_PROBE + "; getent hosts pypi.org || echo NO-DNS")
    assert "CONNECTED" not in result.output
    assert "NO-DNS" in result.output
    assert "Network is unreachable" in result.output or "Errno" in result.output


@pytest.mark.parametrize("kind", ISOLATING)
async def test_network_when_asked_for(sandbox_factory, kind):
    # The environment-building step gets the network; show the switch really switches.
    box = await sandbox_factory(kind, network=True)
    result = await box.exec("python3 -c \"import socket; print(socket.getaddrinfo('pypi.org', 443)[0][4][0])\"")
    assert result.returncode == 0, result.output


SYSTEM_TARGETS = ("/agentforge-pwned", "/etc/agentforge-pwned", "/usr/bin/agentforge-pwned",
                  "/root/agentforge-pwned")


@pytest.mark.parametrize("kind", ISOLATING)
async def test_writes_outside_the_workspace_fail(sandbox_factory, kind, tmp_path):
    # Each write is checked inside the sandbox too: a write that lands in the
    # container's own layer would not show on the host, but must fail all the same.
    outside = tmp_path / f"outside-{uuid.uuid4().hex}"
    box = await sandbox_factory(kind)
    probes = "".join(f"(echo pwned > {t}) 2>/dev/null && echo WROTE {t}; test -e {t} && echo EXISTS {t}; "
                     for t in (*SYSTEM_TARGETS, outside))
    result = await box.exec(probes + "echo inside > inside.txt; echo done")
    assert result.returncode == 0 and result.output.endswith("done\n"), result.output
    assert "WROTE" not in result.output and "EXISTS" not in result.output, result.output
    assert not outside.exists() and not any(os.path.exists(t) for t in SYSTEM_TARGETS)
    assert (box.workspace / "inside.txt").read_text() == "inside\n"


@pytest.mark.docker
async def test_docker_root_file_system_is_read_only(sandbox_factory):
    # Root inside the container may write anywhere its file system lets it:
    # only a read-only root stops it, and the error must say that.
    box = await sandbox_factory("docker")
    result = await box.exec("id -u; for t in / /etc /usr/bin /root /var; do touch $t/agentforge-pwned; done")
    assert result.output.splitlines()[0] == "0"  # root in the container, as on a root host
    assert result.output.count("Read-only file system") == 5, result.output


@pytest.mark.parametrize("kind", ISOLATING)
async def test_mounts_cannot_be_undone_or_added(sandbox_factory, kind):
    # Root inside the sandbox must not be able to remount the read-only system
    # rw, unmask a hidden file, or mount cgroupfs to escape its limits.
    box = await sandbox_factory(kind)
    result = await box.exec(
        "mount -o remount,rw,bind /usr 2>&1; touch /usr/agentforge-remount 2>&1; "
        "umount /etc/shadow 2>&1; mkdir -p /tmp/cg && mount -t cgroup -o pids none /tmp/cg 2>&1; "
        "ls /tmp/cg | head -3; grep CapEff /proc/self/status")
    assert not os.path.exists("/usr/agentforge-remount")
    cap_eff = int(result.output.split("CapEff:")[1].split()[0], 16)
    assert not cap_eff & (1 << 21), "CAP_SYS_ADMIN left to the command"
    assert "pids.max" not in result.output  # no cgroup hierarchy got mounted


@pytest.mark.parametrize("kind", ISOLATING)
async def test_host_secrets_are_not_visible(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    # (the docker image has its own /etc/shadow; what matters is not seeing the host's)
    result = await box.exec("sha256sum /etc/shadow 2>/dev/null; ls /root 2>/dev/null | wc -l")
    host = hashlib.sha256(open("/etc/shadow", "rb").read()).hexdigest()
    assert host not in result.output
    assert result.output.splitlines()[-1].strip() == "0"


@pytest.mark.parametrize("kind", ISOLATING)
async def test_symlink_out_of_the_workspace_is_refused_by_file_api(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    await box.exec("ln -s /etc/passwd link")
    with pytest.raises(PermissionError):
        await box.read_file("link")
    with pytest.raises(PermissionError):
        await box.write_file("../escape.txt", "x")


@pytest.mark.parametrize("kind", ALL)
async def test_infinite_loop_times_out(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    started = time.monotonic()
    result = await box.exec("while true; do :; done", timeout=2)
    assert result.timed_out and "timed out after 2 s" in result.error
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("kind", ALL)
async def test_sleep_past_timeout_kills_the_whole_tree(sandbox_factory, kind):
    # The setsid child has left the command's process group and session: only
    # the cgroup (or the pid namespace, or the container) can still reach it.
    job, escaped = (f"agentforge-sleeper-{uuid.uuid4().hex[:8]}" for _ in range(2))
    box = await sandbox_factory(kind)
    result = await box.exec(f"bash -c 'exec -a {job} sleep 60' & setsid bash -c 'exec -a {escaped} sleep 60' & "
                            f"sleep 60", timeout=3)
    assert result.timed_out and result.returncode == 137
    gone = await _until(lambda: _running(job) == "" and _running(escaped) == "", 15)
    assert gone, "a process outlived its command"


@pytest.mark.parametrize("kind", ALL)
async def test_background_jobs_do_not_outlive_the_command(sandbox_factory, kind):
    marker, escaped = (f"agentforge-bg-{uuid.uuid4().hex[:8]}" for _ in range(2))
    box = await sandbox_factory(kind)
    result = await box.exec(f"(exec -a {marker} sleep 60) & setsid bash -c 'exec -a {escaped} sleep 60' & "
                            "echo started")
    assert "started" in result.output and not result.timed_out
    gone = await _until(lambda: _running(marker) == "" and _running(escaped) == "", 15)
    assert gone, "a background job outlived its command"


@pytest.mark.parametrize("kind", ALL)
async def test_endless_output_is_capped_and_killed(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    result = await box.exec("yes 'flood'", timeout=30)
    assert result.truncated and not result.timed_out
    assert "printed more than 8 MB and was killed" in result.error
    assert len(result.output) < 3000  # head + tail + notice, not megabytes
    assert result.output.startswith("flood\n") and "output too long" in result.output


@pytest.mark.parametrize("kind", ALL)
async def test_long_output_keeps_head_and_tail(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    result = await box.exec("seq 1 100000")
    assert result.returncode == 0 and result.error is None and result.truncated
    assert result.output.startswith("1\n2\n3\n") and result.output.rstrip().endswith("99999\n100000")
    assert "\n50000\n" not in result.output


@pytest.mark.parametrize("kind", ALL)
async def test_fork_bomb_is_contained(sandbox_factory, kind):
    # The process limit itself must stop it (a cgroup's pids.max, which binds
    # root), not the timeout: RLIMIT_NPROC, the fallback, does not bind root.
    box = await sandbox_factory(kind)
    started = time.monotonic()
    result = await box.exec(":(){ :|:& };:; sleep 2; echo survived", timeout=30)
    assert result.error == "the process limit (64) was reached; some forks failed", result.error
    assert not result.timed_out and time.monotonic() - started < 60
    probe = await box.exec("echo alive")  # the sandbox still works afterwards
    assert probe.output == "alive\n"


@pytest.mark.parametrize("kind", ALL)
async def test_memory_hog_is_killed(sandbox_factory, kind):
    # The memory limit (a cgroup's) kills it, and says so; an address-space
    # rlimit would give a MemoryError instead.
    box = await sandbox_factory(kind)
    result = await box.exec("python3 -c \"x = bytearray(1024 * 1024 * 1024); print('allocated')\"")
    assert "allocated" not in result.output and "MemoryError" not in result.output
    assert result.returncode == 137
    assert result.error == "killed: the memory limit (256 MB) was reached", result.error


CGROUP = re.compile(r"^\d+:([^:]*):(.*/agentforge-[0-9a-f]{12})$", re.M)


@pytest.mark.parametrize("kind", ["bwrap", "local"])
async def test_commands_run_in_their_own_cgroup(sandbox_factory, kind):
    # Read from the host: bwrap gives commands a cgroup namespace, so inside
    # they see their own group as "/".
    marker = f"agentforge-cg-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    task = asyncio.ensure_future(box.exec(f"exec -a {marker} sleep 60", timeout=60))
    try:
        started = await _until(lambda: _running(marker) != "", 30)
        assert started, "the command never started"
        groups = dict(CGROUP.findall(open(f"/proc/{_running(marker).split()[0]}/cgroup").read()))
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    controllers = {c for names in groups for c in names.split(",")}
    assert {"pids", "memory"} <= controllers or "" in groups, groups  # v1's two controllers, or v2's one group
    if kind == "local":  # no cgroup namespace: the command sees its group too
        inside = await box.exec("cat /proc/self/cgroup")
        assert {"pids", "memory"} <= {c for names, _ in CGROUP.findall(inside.output) for c in names.split(",")}


@pytest.mark.parametrize("kind", ALL)
async def test_exit_codes_and_stderr_come_back(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    result = await box.exec("echo out; echo err >&2; exit 3")
    assert result.returncode == 3 and result.error is None
    assert "out\n" in result.output and "err\n" in result.output
    assert "<returncode>3</returncode>" in result.observation()


@pytest.mark.parametrize("kind", ALL)
async def test_diff_sees_edits_and_new_files(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    await box.exec("git init -q && git config user.email a@b && git config user.name a && "
                   "printf 'a\\nb\\n' > f.txt && git add -A && git commit -qm base")
    await box.write_file("f.txt", "a\nB\n")
    await box.write_file("new/g.txt", "new\n")
    patch = await box.diff()
    assert "-b\n+B" in patch and "new/g.txt" in patch and "+new" in patch


@pytest.mark.parametrize("kind", ALL)
async def test_cancelled_command_leaves_nothing_running(sandbox_factory, kind):
    # A harness timeout or Ctrl-C cancels the awaiting task mid-command.
    marker = f"agentforge-cancel-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    task = asyncio.ensure_future(box.exec(f"exec -a {marker} sleep 60", timeout=60))
    started = await _until(lambda: _running(marker) != "", 60)
    assert started, "the command never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gone = await _until(lambda: _running(marker) == "", 15)
    assert gone, "the cancelled command is still running"


@pytest.mark.slow  # 15 s each: a leak shows only once the container is up
@pytest.mark.parametrize("kind", ALL)
async def test_immediately_cancelled_command_leaves_nothing_running(sandbox_factory, kind):
    # Cancelled before the command has even started (docker: while the
    # container is being created). Whatever was started must be gone once the
    # cancel completes, and stay gone: a leak would run until its 60 s timeout.
    marker = f"agentforge-cancel-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    task = asyncio.ensure_future(box.exec(f"exec -a {marker} sleep 60", timeout=60))
    if kind == "docker":  # cancel while `containers.run` is creating and starting the container
        exists = await asyncio.to_thread(_until_container, box._client, marker)
        assert exists, "no container was created"
    else:
        await asyncio.sleep(0)  # let it begin
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: False, 15)  # long enough for a leaked container to be up and running
    assert _running(marker) == "", "the cancelled command started and kept running"


@pytest.mark.parametrize("kind", ISOLATING)
async def test_file_api_refuses_fifos_instead_of_hanging(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    await box.exec("mkfifo pipe")
    with pytest.raises(ValueError, match="not a regular file"):
        await box.read_file("pipe")
