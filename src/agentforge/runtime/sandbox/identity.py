"""Who sandbox commands run as: never the host's root.

Started by root, bwrap would run commands as uid 0 of the host, and every
root-owned file it shows (a 0600 secret under /etc or /opt included) would be
theirs to read. So on a root host commands run as `SANDBOX_UID`, an id that owns
nothing on the host, and the workspace (with any writable mount) belongs to it
while the sandbox is open. Only the workspace directory and its .git stay the
host owner's (group-writable for the sandbox user), so git on the host still
trusts the repository; inside, /etc/gitconfig trusts it. Non-root hosts
already run commands as their user.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from .base import SandboxError

SANDBOX_UID = int(os.environ.get("AGENTFORGE_SANDBOX_UID", "61000"))  # owns nothing on the host
SANDBOX_USER = "sandbox"


def command_ids() -> tuple[int, int] | None:
    """(uid, gid) commands must switch to, or None when the host user is not root."""
    if os.geteuid() != 0:
        return None
    try:
        taken = pwd.getpwuid(SANDBOX_UID).pw_name
    except KeyError:
        return SANDBOX_UID, SANDBOX_UID
    raise SandboxError(f"the sandbox uid {SANDBOX_UID} belongs to the host user {taken!r}, whose files "
                       "commands could then touch: set AGENTFORGE_SANDBOX_UID to an unused uid")


def account_files(directory: Path, ids: tuple[int, int] | None) -> dict[str, Path]:
    """/etc/passwd and /etc/group for inside: root, nobody, and the user commands run as."""
    uid, gid = ids or (os.getuid(), os.getgid())
    users = {0: "root", 65534: "nobody", uid: SANDBOX_USER if ids else _host_name(uid)}
    groups = {0: "root", 65534: "nogroup", gid: SANDBOX_USER if ids else f"g{gid}"}
    passwd = "".join(f"{name}:x:{u}:{gid if u == uid else u}:{name}:{'/root' if u == 0 else '/tmp'}:/bin/bash\n"
                     for u, name in users.items())
    group = "".join(f"{name}:x:{g}:\n" for g, name in groups.items())
    files = {"/etc/passwd": directory / "passwd", "/etc/group": directory / "group",
             "/etc/gitconfig": directory / "gitconfig"}
    files["/etc/passwd"].write_text(passwd)
    files["/etc/group"].write_text(group)
    # The workspace's top directory stays the host user's (see the module doc).
    files["/etc/gitconfig"].write_text("[safe]\n\tdirectory = *\n")
    return files


def _host_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return SANDBOX_USER


def hand_over(path: Path, uid: int, gid: int, links: bool = False) -> None:
    """Make everything under `path` owned by uid:gid, without following links.

    Files with other hard links are left alone (unless `links`: the tree is a
    private copy): they may be shared with something outside (a git mirror's
    objects), and their owner could rewrite them there.
    """
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
                if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 and not links:
                    continue
                if (info.st_uid, info.st_gid) != (uid, gid):
                    os.lchown(full, uid, gid)
            except FileNotFoundError:
                pass


class Handover:
    """Hand a workspace to the sandbox user, and back (see the module doc)."""

    def __init__(self, path: Path, ids: tuple[int, int], whole: bool = False, private: bool = False):
        self.path = path
        self.ids = ids
        self.whole = whole  # a writable mount: no git repository whose owner matters
        self.private = private  # a copy of the workspace (disk.py): its hard links are its own
        self.kept: dict[Path, int] = {}  # directories that stay the host owner's → their own mode
        self.back_to: tuple[int, int] | None = None

    def give(self) -> None:
        owner = os.stat(self.path)
        self.back_to = (owner.st_uid, owner.st_gid)
        hand_over(self.path, *self.ids, links=self.private)
        if not self.whole:
            for p in (self.path, self.path / ".git"):
                self._keep(p)

    def settle(self) -> None:
        """After a command: a .git it created goes to the host owner too."""
        if not self.whole and self.back_to is not None and self.path / ".git" not in self.kept:
            self._keep(self.path / ".git")

    def _keep(self, path: Path) -> None:
        """`path` back to the host owner, group-writable for the sandbox user."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            self.kept[path] = stat.S_IMODE(info.st_mode)
            os.chown(path, self.back_to[0], self.ids[1])
            os.chmod(path, self.kept[path] | 0o070)

    def take_back(self) -> None:
        if self.back_to is None or not self.path.exists():
            return
        hand_over(self.path, *self.back_to, links=self.private)
        for path, mode in self.kept.items():
            if path.is_dir() and not path.is_symlink():
                os.chmod(path, mode)
