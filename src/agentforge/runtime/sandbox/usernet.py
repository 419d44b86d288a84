"""The network for bwrap commands that need one (environment builds), without the host's.

Sharing the host's network namespace would let a build reach every service
listening on the host's loopback. Instead the command gets its own namespace
and slirp4netns gives it user-mode networking: outbound TCP/UDP through the
host's sockets, DNS at 10.0.2.3, and `--disable-host-loopback`, so nothing on
127.0.0.1 of the host is reachable. bwrap holds the command back (`--block-fd`)
until the link is up.

Where slirp4netns is missing, network commands are refused, unless
AGENTFORGE_SANDBOX_HOST_NETWORK=1 accepts the host's namespace (with a warning).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil

from .base import SandboxError

log = logging.getLogger(__name__)
DNS = "10.0.2.3"  # slirp's resolver, which forwards to the host's
READY_TIMEOUT = 30.0  # seconds for bwrap to set up and slirp4netns to bring the link up
HOST_NETWORK_OPT_IN = "AGENTFORGE_SANDBOX_HOST_NETWORK"
HOST_NETWORK_WARNING = (f"{HOST_NETWORK_OPT_IN}=1: network commands share the host's network namespace and "
                        "can reach services on its loopback")


def slirp_binary() -> str | None:
    return shutil.which("slirp4netns")


def host_network_accepted() -> bool:
    """True where slirp4netns is missing and the user opted into the host's network."""
    if slirp_binary():
        return False
    if os.environ.get(HOST_NETWORK_OPT_IN) == "1":
        log.warning(HOST_NETWORK_WARNING)
        return True
    raise SandboxError("network commands in bwrap need slirp4netns (`apt-get install slirp4netns`), which "
                       "gives them the internet but not the host's own services; or set "
                       f"{HOST_NETWORK_OPT_IN}=1 to share the host's network, loopback services included")


class UserNet:
    """One command's link: pipes for bwrap, then slirp4netns attached to its namespace."""

    def __init__(self, own_userns: bool):
        self.own_userns = own_userns  # bwrap made a user namespace that slirp must join
        self.info_r, self.info_w = os.pipe()
        self.block_r, self.block_w = os.pipe()
        self._open = {self.info_r, self.info_w, self.block_r, self.block_w}
        self.slirp: asyncio.subprocess.Process | None = None

    def _close(self, *fds: int) -> None:
        for fd in fds:
            if fd in self._open:
                self._open.discard(fd)
                os.close(fd)

    def bwrap_args(self) -> list[str]:
        return ["--info-fd", str(self.info_w), "--block-fd", str(self.block_r)]

    @property
    def child_fds(self) -> tuple[int, int]:
        return self.info_w, self.block_r

    async def attach(self, proc: asyncio.subprocess.Process) -> None:
        """Bring the link up in the sandbox bwrap `proc` started, then let the command run."""
        self._close(*self.child_fds)  # bwrap holds these now; EOF on info needs our copy closed
        try:
            await asyncio.wait_for(self._attach(), READY_TIMEOUT)
        except asyncio.TimeoutError as exc:
            raise SandboxError(f"the sandbox network did not come up in {READY_TIMEOUT:g} s") from exc

    async def _attach(self) -> None:
        info = await asyncio.to_thread(_read_all, self.info_r)
        try:
            pid = int(json.loads(info.decode() or "{}")["child-pid"])
        except (ValueError, KeyError) as exc:
            raise SandboxError(f"bwrap did not report its sandbox ({info[:200]!r})") from exc
        # bwrap reports the pid while its child still sets up the loopback device;
        # slirp4netns configuring the namespace at the same time makes that fail.
        while not await asyncio.to_thread(_loopback_up, pid):
            if not os.path.exists(f"/proc/{pid}"):
                return  # bwrap failed on its own; its output says why
            await asyncio.sleep(0.01)
        ready_r, ready_w = os.pipe()
        args = [slirp_binary() or "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                f"--ready-fd={ready_w}"]
        if self.own_userns:
            args.append(f"--userns-path=/proc/{pid}/ns/user")
        try:
            self.slirp = await asyncio.create_subprocess_exec(
                *args, str(pid), "tap0", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, pass_fds=(ready_w,))
        finally:
            os.close(ready_w)
        try:
            ready = await asyncio.to_thread(_read_all, ready_r, 1)
        finally:
            os.close(ready_r)
        if ready != b"1":
            err = await self.slirp.stderr.read() if self.slirp.stderr else b""
            raise SandboxError(f"slirp4netns could not bring up the sandbox network: {err.decode()[-500:]}")
        os.write(self.block_w, b"1")  # the command may start

    async def close(self) -> None:
        self._close(*list(self._open))
        if self.slirp is not None and self.slirp.returncode is None:
            self.slirp.kill()
            await self.slirp.wait()


def _loopback_up(pid: int) -> bool:
    """Whether 127.0.0.1 is configured in the network namespace of `pid`."""
    try:
        with open(f"/proc/{pid}/net/fib_trie") as f:
            return "127.0.0.1" in f.read()
    except OSError:
        return False


def _read_all(fd: int, limit: int = 1 << 16) -> bytes:
    """Read until EOF (or `limit` bytes)."""
    data = b""
    while len(data) < limit and (chunk := os.read(fd, limit - len(data))):
        data += chunk
    return data
