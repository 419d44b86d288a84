"""bubblewrap sandbox: no network, read-only system, the workspace the only writable place.

Each command is a fresh `bwrap` with new namespaces (net, pid, ipc, uts,
cgroup): the host's file system is visible only through read-only binds of
the system directories (and the Python installation the command needs), /tmp
is a private tmpfs, and the workspace is bound at `/workspace`. Killing bwrap
kills its pid namespace, so nothing a command starts survives it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from .base import SYSTEM_PATH, WORKDIR, ExecResult, Sandbox, SandboxError, SandboxSpec
from .process import run_process

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt")
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/shadow-", "/etc/gshadow-")
MASKED_DIRS = ("/etc/ssl/private", "/etc/ssh", "/etc/sudoers.d", "/etc/docker")  # keys and secrets
EXTRA_BIN = "/agentforge/bin"
PATH = f"{SYSTEM_PATH}:{EXTRA_BIN}"


def bwrap_binary() -> str | None:
    return shutil.which("bwrap")


def _python_dirs() -> list[str]:
    """The running interpreter's installation, so `python3` inside means the same Python."""
    dirs = {str(Path(p).resolve()) for p in (sys.base_prefix, sys.prefix)}
    return sorted(d for d in dirs if not d.startswith(SYSTEM_DIRS))


class BwrapSandbox(Sandbox):
    name = "bwrap"
    workdir = WORKDIR

    def __init__(self, spec: SandboxSpec):
        super().__init__(spec)
        self.binary = bwrap_binary()

    async def start(self) -> None:
        await super().start()
        if self.binary is None:
            raise SandboxError("bubblewrap is not installed: `apt-get install bubblewrap`, "
                               "or choose --sandbox docker")

    def argv(self, command: str) -> list[str]:
        # --cap-drop ALL: run as root, bwrap would otherwise leave the command every
        # capability, and `mount -o remount,rw` would undo the read-only binds.
        args = [self.binary, "--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL",
                "--hostname", "sandbox"]
        if self.spec.network:
            args.append("--share-net")
        for d in SYSTEM_DIRS:
            args += ["--ro-bind-try", d, d]
        for f in MASKED_FILES:
            if os.path.exists(f):
                args += ["--ro-bind", "/dev/null", f]
        for d in MASKED_DIRS:
            if os.path.isdir(d):
                args += ["--tmpfs", d]
        for d in _python_dirs():
            args += ["--ro-bind", d, d]
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run",
                 "--dir", "/var/tmp"]
        if not os.path.exists("/usr/bin/python") and os.path.exists("/usr/bin/python3"):
            args += ["--symlink", "/usr/bin/python3", f"{EXTRA_BIN}/python"]  # agents type `python`
        for m in self.spec.mounts:
            args += ["--bind" if m.writable else "--ro-bind", str(Path(m.source).resolve()), m.target]
        args += ["--bind", str(self.workspace), self.workdir, "--chdir", self.workdir]
        args += ["--clearenv"]
        for key, value in self._environment().items():
            args += ["--setenv", key, value]
        args += ["--", "/bin/bash", "-c", command]
        return args

    def _environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": PATH, "HOME": "/tmp", "LANG": "C.UTF-8", "TERM": "dumb",
               "PYTHONDONTWRITEBYTECODE": "1", "PIP_NO_INPUT": "1", "GIT_PAGER": "cat", "PAGER": "cat"}
        if self.spec.network:  # what the host needs to reach PyPI (CA bundle, proxies)
            for key, value in os.environ.items():
                if key.endswith(("_PROXY", "_proxy", "CA_BUNDLE", "CERT_FILE", "CERT_DIR")) or key.startswith("PIP_"):
                    env[key] = value
        env.update(self.spec.env)
        env.update(extra or {})
        return env

    async def exec(self, command: str, timeout: float | None = None,
                   env: dict[str, str] | None = None, output_chars: int | None = None) -> ExecResult:
        if env:
            command = "".join(f"export {k}={shlex.quote(v)}; " for k, v in env.items()) + command
        return await run_process(self.argv(command), self.limits, timeout=timeout,
                                 output_chars=output_chars, env={"PATH": PATH})
