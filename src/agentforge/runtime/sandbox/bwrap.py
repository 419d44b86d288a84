"""bubblewrap sandbox: no network, read-only system, the workspace the only writable place.

Each command is a fresh `bwrap` with new namespaces (net, pid, ipc, uts,
cgroup): the host's file system is visible only through read-only binds of
the system directories, a few harmless files of /etc (see ETC_SHARED) and the
Python installation the command needs; /tmp is a private size-limited tmpfs,
and the workspace is bound at `/workspace`. On a root host commands run as an
unprivileged user (identity.py). Killing bwrap kills its pid namespace, so
nothing a command starts survives it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from .base import SYSTEM_PATH, WORKDIR, ExecResult, Sandbox, SandboxError, SandboxSpec
from .identity import Handover, account_files, command_ids
from .process import run_process
from .usernet import DNS, UserNet, host_network_accepted

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt")
# What commands need from the host's /etc (name service, TLS roots, the dynamic
# linker, alternatives and tool configuration that /usr links into); nothing
# that holds secrets (shadow, ssh, ssl/private, sudoers, docker, pip.conf, npmrc,
# gitconfig's credential helpers). passwd, group and gitconfig are written for the sandbox.
ETC_SHARED = ("hosts", "host.conf", "nsswitch.conf", "gai.conf", "protocols", "services", "networks", "ethers",
              "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "alternatives",
              "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "locale.alias", "mime.types",
              "magic", "magic.mime", "os-release", "debian_version", "lsb-release", "shells", "terminfo",
              "fonts", "xml", "sgml", "perl", "python3", "python3.11", "python3.12", "python3.13", "maven", "gdb",
              "java-11-openjdk", "java-17-openjdk", "java-21-openjdk", "vim", "inputrc", "mailcap", "bash.bashrc")
EXTRA_BIN = "/agentforge/bin"
PATH = f"{SYSTEM_PATH}:{EXTRA_BIN}"
CREDENTIAL = re.compile(r"://[^/\s@]+@")  # user:token@ in a URL (an index or proxy with credentials)
SCRATCH_MB = 1024  # each tmpfs (/var/tmp, /dev/shm; /tmp without a disk limit): bounded, not host memory


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
        self.ids: tuple[int, int] | None = None  # who commands run as, on a root host
        self._etc: tempfile.TemporaryDirectory | None = None
        self._accounts: dict[str, Path] = {}
        self._handovers: list[Handover] = []  # what the command user holds while the sandbox is open

    async def start(self) -> None:
        if self.binary is None:
            raise SandboxError("bubblewrap is not installed: `apt-get install bubblewrap`, "
                               "or choose --sandbox docker")
        self.ids = command_ids()
        if self.ids and not shutil.which("setpriv"):
            raise SandboxError("setpriv (util-linux) is needed to run sandbox commands as an unprivileged user")
        await super().start()
        self._etc = tempfile.TemporaryDirectory(prefix="agentforge-etc-")
        self._accounts = account_files(Path(self._etc.name), self.ids)
        if self.ids:
            self._handovers = [Handover(self.workspace, self.ids, private=self.disk is not None)] + \
                [Handover(Path(m.source).resolve(), self.ids, whole=True) for m in self.spec.mounts if m.writable]
            for handover in self._handovers:
                await asyncio.to_thread(handover.give)

    async def stop(self) -> None:
        while self._handovers:  # give the workspace back to whoever owned it
            await asyncio.to_thread(self._handovers.pop().take_back)
        if self._etc is not None:
            self._etc.cleanup()
            self._etc = None
        await super().stop()

    async def write_file(self, path: str, content: str) -> None:
        await super().write_file(path, content)
        if self.ids:  # a file the host wrote must stay the command user's to edit
            target = self.host_path(path)
            for p in [target, *target.parents]:
                if p == self.workspace or self.workspace not in p.parents:
                    break
                os.lchown(p, *self.ids)

    def argv(self, command: str, net: UserNet | None = None) -> list[str]:
        """bwrap's command line; `net`: the user-mode link of a network command (else the
        network is off, or the host's where the user opted into that)."""
        host_net = self.spec.network and net is None
        if self.ids:
            # A root host: no user namespace (its uid 0 would be the host's root);
            # bwrap keeps only what setpriv needs to switch to the sandbox user,
            # which then drops every capability for good (no_new_privs included).
            args = [self.binary, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
                    "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            args = [self.binary, "--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"]
        args += ["--hostname", "sandbox"]
        if host_net and not self.ids:
            args.append("--share-net")
        elif self.ids and not host_net:
            args.append("--unshare-net")
        if net is not None:
            args += net.bwrap_args()
        for d in SYSTEM_DIRS:
            args += ["--ro-bind-try", d, d]
        # Directories bwrap makes for mount points are 0700 root's: open them to the command user.
        targets = [*(f"/etc/{name}" for name in ETC_SHARED), *_python_dirs(), *(m.target for m in self.spec.mounts),
                   f"{EXTRA_BIN}/python"]
        for parent in sorted({str(p) for t in targets for p in Path(t).parents} - {"/", *SYSTEM_DIRS}):
            args += ["--perms", "0755", "--dir", parent]
        for name in ETC_SHARED:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for inside, outside in self._accounts.items():
            args += ["--ro-bind", str(outside), inside]
        args += ["--symlink", "/proc/self/mounts", "/etc/mtab"]  # the sandbox's mounts, not the host's
        if host_net:
            args += ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"]
        elif net is not None:
            args += ["--ro-bind", str(self._resolv()), "/etc/resolv.conf"]
        for d in _python_dirs():
            args += ["--ro-bind", d, d]
        scratch = str(SCRATCH_MB * 1024 * 1024)
        args += ["--dev", "/dev", "--proc", "/proc"]
        if self.disk is not None:  # /tmp counts against the disk limit
            args += ["--bind", str(self.disk.tmp), "/tmp"]
        for d in ("/var/tmp", "/dev/shm") if self.disk is not None else ("/tmp", "/var/tmp", "/dev/shm"):
            args += ["--perms", "1777", "--size", scratch, "--tmpfs", d]
        args += ["--tmpfs", "/run"]
        if not os.path.exists("/usr/bin/python") and os.path.exists("/usr/bin/python3"):
            args += ["--symlink", "/usr/bin/python3", f"{EXTRA_BIN}/python"]  # agents type `python`
        for m in self.spec.mounts:
            args += ["--bind" if m.writable else "--ro-bind", str(Path(m.source).resolve()), m.target]
        args += ["--bind", str(self.workspace), self.workdir]
        args += ["--remount-ro", "/", "--clearenv"]  # bwrap's own root tmpfs: nothing to write there
        for key, value in self._environment().items():
            args += ["--setenv", key, value]
        if not self.ids:
            return args + ["--chdir", self.workdir, "--", "/bin/bash", "-c", command]
        uid, gid = self.ids
        # bwrap's own chdir runs as a root without DAC capabilities, which a 0700
        # workspace of the sandbox user refuses: the shell goes there instead.
        return args + ["--", "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs",
                       "--bounding-set=-all", "--inh-caps=-all", "--",
                       "/bin/bash", "-c", f"cd {self.workdir} || exit 126\n{command}"]

    def _resolv(self) -> Path:
        path = Path(self._etc.name) / "resolv.conf"
        path.write_text(f"nameserver {DNS}\n")
        return path

    def _environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": PATH, "HOME": "/tmp", "LANG": "C.UTF-8", "TERM": "dumb",
               "PYTHONDONTWRITEBYTECODE": "1", "PIP_NO_INPUT": "1", "GIT_PAGER": "cat", "PAGER": "cat"}
        if self.spec.network:  # what the host needs to reach PyPI (CA bundle, proxies), never a credential
            for key, value in os.environ.items():
                wanted = key.endswith(("_PROXY", "_proxy", "CA_BUNDLE", "CERT_FILE", "CERT_DIR")) or key.startswith("PIP_")
                if wanted and not CREDENTIAL.search(value):
                    env[key] = value
        env.update(self.spec.env)
        env.update(extra or {})
        return env

    async def exec(self, command: str, timeout: float | None = None,
                   env: dict[str, str] | None = None, output_chars: int | None = None) -> ExecResult:
        if env:
            command = "".join(f"export {k}={shlex.quote(v)}; " for k, v in env.items()) + command
        if self.disk is not None:
            await asyncio.to_thread(self.disk.clear_tmp)
        try:
            if not self.spec.network or host_network_accepted():
                result = await run_process(self.argv(command), self.limits, timeout=timeout,
                                           output_chars=output_chars, env={"PATH": PATH})
            else:
                net = UserNet(own_userns=self.ids is None)
                try:
                    result = await run_process(self.argv(command, net), self.limits, timeout=timeout,
                                               output_chars=output_chars, env={"PATH": PATH},
                                               pass_fds=net.child_fds, on_spawn=net.attach)
                finally:
                    await net.close()
        finally:
            for handover in self._handovers:
                handover.settle()
        return self._note_disk(result)
