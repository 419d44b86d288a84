"""A disk limit for a sandbox's workspace and /tmp, so a command cannot fill the host's disk.

While the sandbox is open its workspace lives on a file system of its own: a
sparse ext4 image (it takes only the space used) mounted over the workspace
path, so the host and every backend see the same path. /tmp for commands lives
there too. The image holds the workspace as it was plus `mb` MB: the limit is
on what commands add, so a large repository still fits. When the sandbox
stops, the workspace is copied back and the image removed. Writing past the
limit fails with ENOSPC inside, and `full()` lets the sandbox say so in words.

Mounting needs root and loop devices; elsewhere there is no disk limit (logged
once), only the per-file size limit (RLIMIT_FSIZE) and size-limited tmpfs /tmp.
A process killed with its sandbox open leaves the mounts behind; the next
sandbox to start copies such a workspace back and removes them.
Copying back writes only what changed (compared byte for byte).
"""

from __future__ import annotations

import asyncio
import filecmp
import glob
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from .errors import SandboxError

log = logging.getLogger(__name__)
FULL_BELOW = 1024 * 1024  # bytes free under which the file system counts as full
_warned = False


def _run(*argv: str, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:2])} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _umount(path: Path) -> None:
    """Unmount; lazily where something still holds it (a process that escaped every kill)."""
    try:
        _run("umount", str(path))
    except SandboxError:
        _run("umount", "-l", str(path))


def _mounted(path: Path) -> bool:
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def supported() -> bool:
    return os.geteuid() == 0 and os.path.exists("/dev/loop-control") and shutil.which("mkfs.ext4") is not None


class DiskLimit:
    """The size-limited file system under one sandbox's workspace (see the module doc)."""

    def __init__(self, workspace: Path, mb: int, root: Path | None = None):
        self.workspace = workspace
        self.mb = mb
        self.root = root or Path(tempfile.mkdtemp(prefix="agentforge-disk-"))
        self.image = self.root / "disk.img"
        self.mount_point = self.root / "fs"
        self.copy = self.mount_point / "workspace"  # mounted over the workspace path
        self.tmp = self.mount_point / "tmp"  # the commands' /tmp
        self._mounted = self._bound = False

    @classmethod
    async def attach(cls, workspace: Path, mb: int | None) -> "DiskLimit | None":
        """Put `workspace` on a file system of `mb` MB; None where that is not possible here."""
        global _warned
        if not mb:
            return None
        if not supported():
            if not _warned:
                _warned = True
                log.warning("no disk limit for sandboxes here (it needs root and loop devices): a command can "
                            "fill the disk its workspace is on")
            return None
        await asyncio.to_thread(cls._recover_abandoned)
        if os.path.ismount(workspace):
            # Another sandbox on the same workspace already gave it a file system
            # of its own (and its limit): stacking a second one would tangle both.
            log.warning("the workspace %s is a mount point already: no disk limit of its own", workspace)
            return None
        disk = cls(workspace, mb)
        try:
            await asyncio.to_thread(disk._attach)
        except BaseException:
            await asyncio.to_thread(disk._detach, False)
            raise
        return disk

    @classmethod
    def _recover_abandoned(cls) -> None:
        """Give back the workspaces of processes that died with a sandbox open."""
        for owner in glob.glob(os.path.join(tempfile.gettempdir(), "agentforge-disk-*", "owner")):
            try:
                record = json.loads(Path(owner).read_text())
                if _alive(record["pid"]):
                    continue
                disk = cls(Path(record["workspace"]), record["mb"], root=Path(owner).parent)
                disk._mounted, disk._bound = _mounted(disk.mount_point), _mounted(disk.workspace)
                log.warning("giving back the workspace %s of a sandbox whose process died", disk.workspace)
                disk._detach(copy_back=True)
            except (OSError, ValueError, KeyError, SandboxError) as exc:
                log.warning("could not recover the abandoned sandbox disk %s: %s", owner, exc)

    def _attach(self) -> None:
        (self.root / "owner").write_text(json.dumps({"pid": os.getpid(), "workspace": str(self.workspace),
                                                     "mb": self.mb}))
        used, files = _usage(self.workspace)
        with open(self.image, "wb") as f:  # room for the copy (and ext4's own metadata), plus the limit
            f.truncate(int(used * 1.1) + (self.mb + 16) * 1024 * 1024)
        inodes = files + max(65536, self.mb * 64)  # a command may also add many small files
        _run("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard", "-N", str(inodes),
             str(self.image))
        self.mount_point.mkdir()
        _run("mount", "-o", "loop,nosuid,nodev", str(self.image), str(self.mount_point))
        self._mounted = True
        self.tmp.mkdir(mode=0o1777)
        os.chmod(self.tmp, 0o1777)
        try:
            _run("cp", "-a", "--", str(self.workspace), str(self.copy))
        except SandboxError as exc:
            if self.full():
                raise SandboxError(f"the workspace {self.workspace} does not fit the sandbox disk limit of "
                                   f"{self.mb} MB: raise Limits.disk_mb") from exc
            raise
        _run("mount", "--bind", str(self.copy), str(self.workspace))
        self._bound = True

    def full(self) -> bool:
        """True when commands have used the space (or the inodes) up: they saw 'No space left on device'."""
        info = os.statvfs(self.mount_point)
        return info.f_bavail * info.f_frsize < FULL_BELOW or info.f_favail == 0

    def message(self) -> str:
        return (f"the disk limit of {self.mb} MB (workspace and /tmp together) was exceeded; "
                "delete files to make room")

    def clear_tmp(self) -> None:
        """A fresh /tmp for each command, as a tmpfs would give."""
        for entry in os.scandir(self.tmp):
            _remove(Path(entry.path))

    async def detach(self) -> None:
        await asyncio.to_thread(self._detach, True)

    def _detach(self, copy_back: bool) -> None:
        """Copy the workspace back to the host (replacing, never writing through, what was
        there: a file there may be a hard link shared with something else), then unmount."""
        try:
            if self._bound:
                _umount(self.workspace)
                self._bound = False
                if copy_back:
                    _sync(self.copy, self.workspace)
            if self._mounted:
                _umount(self.mount_point)
                self._mounted = False
        finally:
            if not self._mounted:
                shutil.rmtree(self.root, ignore_errors=True)


def _usage(path: Path) -> tuple[int, int]:
    """(bytes allocated, entries) under `path`, not following links."""
    used, files = 0, 0
    for root, dirs, names in os.walk(path):
        for name in dirs + names:
            try:
                used += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
            files += 1
    return used, files


def _sync(src: Path, dst: Path) -> None:
    """Make the tree `dst` what `src` is, copying only what differs (a workspace changes
    little). A changed file is replaced, never written through: it may be a hard link."""
    changed: list[str] = []

    def walk(rel: Path) -> None:
        names = set(os.listdir(src / rel))
        for name in os.listdir(dst / rel):
            if name not in names:
                _remove(dst / rel / name)
        for name in sorted(names):
            s, d = src / rel / name, dst / rel / name
            si = os.lstat(s)
            try:
                di = os.lstat(d)
            except FileNotFoundError:
                di = None
            if di is not None and stat.S_IFMT(si.st_mode) == stat.S_IFMT(di.st_mode):
                if stat.S_ISDIR(si.st_mode):
                    walk(rel / name)
                    if (si.st_mode, si.st_uid, si.st_gid) != (di.st_mode, di.st_uid, di.st_gid):
                        os.chmod(d, stat.S_IMODE(si.st_mode))
                        os.lchown(d, si.st_uid, si.st_gid)
                    continue
                if _same(s, d, si, di):
                    continue
            if di is not None:
                _remove(d)
            changed.append(str(rel / name))

    walk(Path("."))
    for i in range(0, len(changed), 500):
        _run("cp", "-a", "--parents", "--", *changed[i:i + 500], str(dst), cwd=src)
    if (src.stat().st_mode, src.stat().st_uid) != (dst.stat().st_mode, dst.stat().st_uid):
        os.chmod(dst, stat.S_IMODE(src.stat().st_mode))
        os.lchown(dst, src.stat().st_uid, src.stat().st_gid)


def _same(s: Path, d: Path, si: os.stat_result, di: os.stat_result) -> bool:
    if (si.st_mode, si.st_uid, si.st_gid) != (di.st_mode, di.st_uid, di.st_gid):
        return False
    if stat.S_ISLNK(si.st_mode):
        return os.readlink(s) == os.readlink(d)
    return stat.S_ISREG(si.st_mode) and si.st_size == di.st_size and filecmp.cmp(s, d, shallow=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
