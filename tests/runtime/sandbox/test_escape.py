"""The escape suite: what a hostile or broken command tries, and how each backend contains it.

Isolation (network, files outside the workspace) is checked for bwrap and
docker; resource limits (time, output, memory, processes) for every backend,
local included. Every breach must come back as a clean `ExecResult`, never an
exception, with `error` saying what happened.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import pytest

from .conftest import ALL, ISOLATING

def _running(marker: str) -> str:
    """pids of host processes whose command line holds `marker` ([x]yz keeps pgrep's shell out)."""
    return os.popen(f"pgrep -f '[{marker[0]}]{marker[1:]}'").read().strip()


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


@pytest.mark.parametrize("kind", ISOLATING)
async def test_writes_outside_the_workspace_fail(sandbox_factory, kind, tmp_path):
    outside = tmp_path / f"outside-{uuid.uuid4().hex}"
    box = await sandbox_factory(kind)
    result = await box.exec(
        f"echo pwned > {outside}; echo pwned > /etc/agentforge-pwned; touch /usr/bin/pwned; "
        "mkdir -p /root/pwned; echo inside > inside.txt; echo done")
    assert result.returncode == 0 and "done" in result.output
    assert "Read-only file system" in result.output or "No such file" in result.output
    assert not outside.exists()
    assert not os.path.exists("/etc/agentforge-pwned") and not os.path.exists("/usr/bin/pwned")
    assert (box.workspace / "inside.txt").read_text() == "inside\n"


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
    marker = f"agentforge-sleeper-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    result = await box.exec(f"bash -c 'exec -a {marker} sleep 60' & setsid sleep 60 & sleep 60", timeout=1.5)
    assert result.timed_out and result.returncode == 137
    time.sleep(0.5)
    assert _running(marker) == "", "a process outlived its command"


@pytest.mark.parametrize("kind", ALL)
async def test_background_jobs_do_not_outlive_the_command(sandbox_factory, kind):
    marker = f"agentforge-bg-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    result = await box.exec(f"(exec -a {marker} sleep 60) & echo started")
    assert "started" in result.output and not result.timed_out
    time.sleep(0.5)
    assert _running(marker) == ""


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
    box = await sandbox_factory(kind)
    started = time.monotonic()
    result = await box.exec(":(){ :|:& };:; sleep 1; echo survived", timeout=4)
    assert result.error is not None  # process limit or timeout, reported either way
    assert time.monotonic() - started < 20
    probe = await box.exec("echo alive")  # the sandbox still works afterwards
    assert probe.output == "alive\n"


@pytest.mark.parametrize("kind", ALL)
async def test_memory_hog_is_killed(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    result = await box.exec("python3 -c \"x = bytearray(1024 * 1024 * 1024); print('allocated')\"")
    assert "allocated" not in result.output
    assert result.returncode != 0
    assert result.error is not None or "MemoryError" in result.output


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
    import asyncio

    marker = f"agentforge-cancel-{uuid.uuid4().hex[:8]}"
    box = await sandbox_factory(kind)
    task = asyncio.ensure_future(box.exec(f"exec -a {marker} sleep 60", timeout=60))
    await asyncio.sleep(1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(1.0)
    assert _running(marker) == ""


@pytest.mark.parametrize("kind", ISOLATING)
async def test_file_api_refuses_fifos_instead_of_hanging(sandbox_factory, kind):
    box = await sandbox_factory(kind)
    await box.exec("mkfifo pipe")
    with pytest.raises(ValueError, match="not a regular file"):
        await box.read_file("pipe")
