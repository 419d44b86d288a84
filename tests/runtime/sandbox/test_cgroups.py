"""The per-command cgroup itself (sandbox/cgroups.py), on this machine's real cgroup file system.

Our machines and CI run as root with a writable cgroupfs, so a cgroup must be
created here; a silent fallback to rlimits would fail these tests.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from agentforge.runtime.sandbox import cgroups
from agentforge.runtime.sandbox.cgroups import Cgroup


@pytest.fixture
def group():
    made = Cgroup.create(memory_mb=64, pids=16)
    assert made is not None, "no cgroup could be created: the sandboxes would fall back to rlimits"
    yield made
    made.remove()


def test_limits_are_written(group):
    assert (group.dirs["pids"] / "pids.max").read_text().strip() == "16"
    memory = "memory.max" if group.v2 else "memory.limit_in_bytes"
    assert int((group.dirs["memory"] / memory).read_text()) == 64 * 1024 * 1024
    assert all(d.name.startswith("agentforge-") and d.parent.name == "agentforge" for d in group.dirs.values())


def test_kill_all_reaches_processes_that_left_the_session(group):
    # setsid leaves the process group and session; the cgroup still holds it.
    proc = subprocess.Popen(["bash", "-c", "setsid sleep 60 & setsid sleep 60 & wait"],
                            preexec_fn=lambda: group.enter(os.getpid()))
    deadline = time.monotonic() + 30
    while len(group.pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group.pids()) == 3
    group.kill_all()
    assert group.pids() == []
    proc.wait(timeout=10)


def test_the_process_limit_is_counted(group):
    result = subprocess.run(["bash", "-c", "for i in $(seq 40); do sleep 5 & done; wait"], capture_output=True,
                            text=True, preexec_fn=lambda: group.enter(os.getpid()), timeout=60)
    assert "fork: retry" in result.stderr or "Resource temporarily unavailable" in result.stderr
    assert group.pid_limit_hits() > 0
    group.kill_all()


def test_the_memory_limit_is_counted(group):
    result = subprocess.run(["python3", "-c", "x = bytearray(256 * 1024 * 1024)"],
                            preexec_fn=lambda: group.enter(os.getpid()), timeout=60)
    assert result.returncode == -9
    assert group.oom_kills() == 1


def test_remove_deletes_the_group():
    made = Cgroup.create(memory_mb=None, pids=8)
    dirs = set(made.dirs.values())
    made.remove()
    assert not any(d.exists() for d in dirs)


def test_groups_left_by_a_killed_process_are_swept():
    made = Cgroup.create(memory_mb=None, pids=8)
    stale = made.dirs["pids"].parent / "agentforge-000000000000"
    stale.mkdir()
    old = time.time() - cgroups.STALE_AFTER - 60
    os.utime(stale, (old, old))
    made.remove()
    again = Cgroup.create(memory_mb=None, pids=8)
    again.remove()
    assert not stale.exists()
