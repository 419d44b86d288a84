"""What every sandbox shares: limits, the result of one command, output capping.

A sandbox runs model-written shell commands in a workspace directory. Each
backend (bwrap, docker, local) decides how strongly it isolates; all of them
report a broken limit as a clean tool error in `ExecResult`, never by raising.
"""

from __future__ import annotations

import abc
import asyncio
import os
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SandboxError  # noqa: F401  (raised here; part of this module's API)

WORKDIR = "/workspace"  # where the workspace appears inside isolating sandboxes
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # PATH inside sandboxes
DIFF_CHARS = 20_000_000  # a diff is read whole, up to this size


@dataclass(frozen=True)
class Limits:
    """Per-command limits. The defaults suit an agent step, not a full test suite."""

    timeout: float = 120.0  # wall seconds per command
    memory_mb: int = 4096
    pids: int = 512
    cpu_seconds: int | None = None  # CPU time; None = only the wall timeout
    file_size_mb: int = 2048  # largest file a command may write
    disk_mb: int | None = 4096  # what commands may add to the workspace and /tmp, where enforced (disk.py)
    output_chars: int = 10_000  # longer outputs keep head and tail halves (the paper's scaffold)
    max_output_bytes: int = 64 * 1024 * 1024  # a command printing more than this is killed


@dataclass
class ExecResult:
    returncode: int
    output: str  # stdout and stderr interleaved, capped to head + tail
    seconds: float = 0.0
    timed_out: bool = False
    truncated: bool = False  # output was cut to head + tail
    error: str | None = None  # why a limit stopped the command, in words

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None

    def observation(self) -> str:
        """The text an agent sees: return code, output, and any limit that was hit."""
        parts = [f"<returncode>{self.returncode}</returncode>"]
        if self.error:
            parts.append(f"<error>{self.error}</error>")
        parts.append(f"<output>\n{self.output}</output>")
        return "\n".join(parts)


def limit_error(limits: Limits, *, timed_out: bool = False, flooded: bool = False, timeout: float = 0.0,
                oom: bool = False, pid_limit: bool = False, signal: int | None = None,
                disk_full: bool = False) -> str | None:
    """The words an agent sees for the limit that stopped its command (the first that applies)."""
    if timed_out:
        return f"the command timed out after {timeout:g} s and was killed"
    if flooded:
        return f"the command printed more than {limits.max_output_bytes // (1024 * 1024)} MB and was killed"
    if disk_full:
        return (f"the disk limit was reached: commands may add {limits.disk_mb} MB to the workspace and /tmp "
                "together; delete files to make room")
    if oom:
        return f"killed: the memory limit ({limits.memory_mb} MB) was reached"
    if pid_limit:
        return f"the process limit ({limits.pids}) was reached; some forks failed"
    if signal:
        return f"the command was killed by signal {signal}"
    return None


MAX_FILE_BYTES = 16 * 1024 * 1024  # the file API reads no bigger file into host memory


class OutputCap:
    """Collects a stream keeping only the first and last `chars // 2` characters.

    Memory stays bounded however much a command prints; `total` counts all of it.
    """

    def __init__(self, chars: int):
        self.half = max(1, chars // 2)
        self.chars = chars
        self.head = ""
        self.tail = ""
        self.total = 0

    def feed(self, text: str) -> None:
        self.total += len(text)
        if len(self.head) < self.half:
            room = self.half - len(self.head)
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail = (self.tail + text)[-self.half:]

    @property
    def truncated(self) -> bool:
        return self.total > self.chars

    def text(self) -> str:
        if not self.truncated:
            return self.head + self.tail
        cut = self.total - len(self.head) - len(self.tail)
        return (f"{self.head}\n<warning>output too long: {cut} characters cut; "
                f"showing the first and last {self.half}</warning>\n{self.tail}")


@dataclass
class Mount:
    """A host directory visible inside the sandbox at `target`."""

    source: Path
    target: str
    writable: bool = False


@dataclass
class SandboxSpec:
    """Everything needed to start a sandbox, independent of the backend."""

    workspace: Path  # host directory, writable, the command's working directory
    limits: Limits = field(default_factory=Limits)
    network: bool = False
    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None  # docker only
    writable_root: bool = False  # docker only: official SWE-bench images edit /testbed in place
    workdir: str | None = None  # docker only: start commands here instead of the workspace mount


class Sandbox(abc.ABC):
    """start → exec … → diff → stop. Use as `async with`."""

    name: str = "sandbox"
    #: the workspace path as commands inside see it
    workdir: str = WORKDIR

    def __init__(self, spec: SandboxSpec):
        self.spec = spec
        self.workspace = Path(spec.workspace).resolve()
        self.limits = spec.limits
        self.disk = None  # the workspace's size-limited file system (disk.DiskLimit), where there is one

    async def __aenter__(self) -> "Sandbox":
        try:
            await self.start()
        except BaseException:
            await self.stop()  # whatever start had set up (the disk limit's mount)
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self) -> None:
        from .disk import DiskLimit

        if not self.workspace.is_dir():
            raise SandboxError(f"workspace {self.workspace} is not a directory")
        self.disk = await DiskLimit.attach(self.workspace, self.limits.disk_mb)

    async def stop(self) -> None:
        if self.disk is not None:
            disk, self.disk = self.disk, None
            await disk.detach()

    def _note_disk(self, result: ExecResult) -> ExecResult:
        """Say so when the command used the disk limit up (it saw only 'No space left on device')."""
        if self.disk is not None and result.error is None and self.disk.full():
            result.error = limit_error(self.limits, disk_full=True)
        return result

    @abc.abstractmethod
    async def exec(self, command: str, timeout: float | None = None,
                   env: dict[str, str] | None = None,
                   output_chars: int | None = None) -> ExecResult:
        """Run `command` with bash in the workspace.

        `output_chars` overrides the head+tail cap (e.g. to read a whole diff).
        """

    # Files live in the workspace on the host for every backend that mounts it,
    # so reading and writing need no round trip through the sandbox.
    def host_path(self, path: str) -> Path:
        """Map a path as the agent wrote it (relative, or under `workdir`) to the host.

        Refuses anything that resolves outside the workspace, symlinks included.
        """
        p = path
        if p == self.workdir or p.startswith(self.workdir.rstrip("/") + "/"):
            p = p[len(self.workdir):].lstrip("/")
        candidate = Path(p)
        if candidate.is_absolute():
            candidate = Path(str(candidate))
        full = (self.workspace / candidate).resolve()
        if full != self.workspace and self.workspace not in full.parents:
            raise PermissionError(f"{path} is outside the workspace {self.workdir}")
        return full

    async def read_file(self, path: str) -> str:
        """A regular file's text. A FIFO or device (which would block a host thread) or
        a file over MAX_FILE_BYTES is refused with ValueError."""
        target = self.host_path(path)

        def read() -> str:
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise ValueError(f"{path} is not a regular file")
                if info.st_size > MAX_FILE_BYTES:
                    raise ValueError(f"{path} is {info.st_size} bytes, over the {MAX_FILE_BYTES} byte limit")
                return f.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")

        return await asyncio.to_thread(read)

    async def write_file(self, path: str, content: str) -> None:
        target = self.host_path(path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

        await asyncio.to_thread(write)

    async def diff(self, base: str | None = None) -> str:
        """`git diff` of the workspace against `base` (default: HEAD), new files included.

        git runs inside the sandbox, never on the host: a model-written
        .git/config can name programs (fsmonitor, diff drivers) that git would run.
        Its stderr (e.g. rename-limit warnings) never enters the patch; it is
        shown only when git fails.
        """
        against = shlex.quote(base) if base else "HEAD"
        diff = f"git -c core.fileMode=false diff --cached --binary --no-color --no-ext-diff {against}"
        # stdout goes straight out through fd 3; stderr is captured and printed only if git fails
        command = ("git add -A >/dev/null 2>&1 || exit $?\n"
                   f"{{ err=$({diff} 2>&1 >&3); rc=$?; }} 3>&1\n"
                   'if [ "$rc" -ne 0 ]; then printf "%s\\n" "$err"; fi\n'
                   'exit "$rc"')
        result = await self.exec(command, timeout=max(60.0, self.limits.timeout), output_chars=DIFF_CHARS)
        if result.returncode != 0 or result.error:
            raise SandboxError(f"git diff failed in the sandbox: {result.error or ''} {result.output[-500:]}")
        if result.truncated:
            raise SandboxError(f"the diff is over {DIFF_CHARS} characters")
        return result.output
