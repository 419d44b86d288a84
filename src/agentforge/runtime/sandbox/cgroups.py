"""Per-sandbox cgroups: a process limit and a memory limit that root cannot dodge.

RLIMIT_NPROC does not bind root, and RLIMIT_AS breaks programs that reserve
address space, so where the cgroup filesystem is writable (cgroup v1 or v2)
each sandbox command gets its own group. It also lets us kill every process a
command started, even ones that called setsid. Where cgroups are unavailable
`Cgroup.create` returns None and the caller falls back to rlimits.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str | None) -> str:
    """This process's cgroup path for a v1 controller, or the v2 path (controller None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller is None and names == "":
            return path
        if controller is not None and controller in names.split(","):
            return path
    return "/"


def _writable_child(base: Path, name: str) -> Path | None:
    child = base / name
    try:
        child.mkdir()
        return child
    except OSError:
        return None


STALE_AFTER = 600.0  # seconds: an empty group this old was left by a killed process


def _group_parent(base: Path) -> Path | None:
    """`<base>/agentforge`, the parent of our groups, swept of groups a killed process left."""
    parent = base / "agentforge"
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    now = time.time()
    for old in parent.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > STALE_AFTER and \
                    not (old / "cgroup.procs").read_text().strip():
                old.rmdir()
        except OSError:
            pass
    return parent


class Cgroup:
    def __init__(self, dirs: dict[str, Path], v2: bool):
        self.dirs = dirs  # controller ("pids", "memory") → its directory; v2: both the same
        self.v2 = v2

    @classmethod
    def create(cls, memory_mb: int | None, pids: int | None) -> "Cgroup | None":
        name = f"agentforge-{uuid.uuid4().hex[:12]}"
        if (ROOT / "cgroup.controllers").exists():
            return cls._create_v2(name, memory_mb, pids)
        dirs: dict[str, Path] = {}
        for controller in ("pids", "memory"):
            base = ROOT / controller
            if not base.is_dir():
                continue
            child = None
            for parent in (base / _own_path(controller).lstrip("/"), base):
                grouped = _group_parent(parent)
                child = _writable_child(grouped, name) if grouped else None
                if child:
                    break
            if child:
                dirs[controller] = child
        if "pids" not in dirs:
            cls._remove_dirs(dirs.values())
            return None
        group = cls(dirs, v2=False)
        try:
            if pids:
                group._write("pids", "pids.max", str(pids))
            if memory_mb and "memory" in dirs:
                limit = str(memory_mb * 1024 * 1024)
                group._write("memory", "memory.limit_in_bytes", limit)
                if (dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
                    try:  # also cap swap, so the limit means what it says
                        group._write("memory", "memory.memsw.limit_in_bytes", limit)
                    except OSError:
                        pass
        except OSError:
            group.remove()
            return None
        return group

    @classmethod
    def _create_v2(cls, name: str, memory_mb: int | None, pids: int | None) -> "Cgroup | None":
        parent = ROOT / _own_path(None).lstrip("/")
        child = _writable_child(parent, name)
        if child is None:
            return None
        group = cls({"pids": child, "memory": child}, v2=True)
        try:
            if pids:
                group._write("pids", "pids.max", str(pids))
            if memory_mb:
                group._write("memory", "memory.max", str(memory_mb * 1024 * 1024))
                group._write("memory", "memory.swap.max", "0")
        except OSError:
            group.remove()
            return None
        return group

    def _write(self, controller: str, file: str, value: str) -> None:
        (self.dirs[controller] / file).write_text(value)

    def enter(self, pid: int) -> None:
        """Move `pid` into the group (called in the child before exec)."""
        for d in set(self.dirs.values()):
            (d / "cgroup.procs").write_text(str(pid))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in set(self.dirs.values()):
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(found)

    def kill_all(self, wait: float = 5.0) -> None:
        """SIGKILL every process in the group until it is empty."""
        if self.v2 and (self.dirs["pids"] / "cgroup.kill").exists():
            try:
                (self.dirs["pids"] / "cgroup.kill").write_text("1")
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def _counter(self, controller: str, file: str, key: str) -> int:
        d = self.dirs.get(controller)
        if d is None:
            return 0
        try:
            for line in (d / file).read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == key:
                    return int(parts[1])
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        if self.v2:
            return self._counter("memory", "memory.events", "oom_kill")
        return self._counter("memory", "memory.oom_control", "oom_kill")

    def pid_limit_hits(self) -> int:
        return self._counter("pids", "pids.events", "max")

    def remove(self) -> None:
        self.kill_all(wait=1.0)
        self._remove_dirs(set(self.dirs.values()))

    @staticmethod
    def _remove_dirs(dirs) -> None:
        for d in dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
