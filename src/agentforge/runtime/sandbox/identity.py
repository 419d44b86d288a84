"""Who sandbox commands run as: never the host's root.

Started by root, bwrap would run commands as uid 0 of the host, and every
root-owned file it shows (a 0600 secret under /etc or /opt included) would be
theirs to read. So on a root host commands run as `SANDBOX_UID`, an id that owns
nothing on the host, and the workspace (with any writable mount) belongs to it
while the sandbox is open. Non-root hosts already run commands as their user.
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
    files = {"/etc/passwd": directory / "passwd", "/etc/group": directory / "group"}
    files["/etc/passwd"].write_text(passwd)
    files["/etc/group"].write_text(group)
    return files


def _host_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return SANDBOX_USER


def hand_over(path: Path, uid: int, gid: int) -> None:
    """Make everything under `path` owned by uid:gid, without following links.

    Files with other hard links are left alone: they are shared with something
    outside (a git mirror's objects), and their owner could rewrite them there.
    """
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
                if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    continue
                if (info.st_uid, info.st_gid) != (uid, gid):
                    os.lchown(full, uid, gid)
            except FileNotFoundError:
                pass
