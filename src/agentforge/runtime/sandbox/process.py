"""Run one sandboxed command as a host process: limits, capped output, clean kill.

Shared by the bwrap and local backends. No process outlives its command: when
the command ends (or times out, or floods its output) everything it started is
killed — through its cgroup where there is one, else its process group.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import resource
import signal
import time
from typing import Awaitable, Callable

from .base import ExecResult, Limits, OutputCap, limit_error
from .cgroups import Cgroup

READ_CHUNK = 64 * 1024
POLL = 0.05  # seconds between checks of a running command
DRAIN_AFTER_EXIT = 0.5  # seconds to keep reading after the command exits (background jobs holding the pipe)


def _limit_setter(limits: Limits, cgroup: Cgroup | None, timeout: float):
    """The child's pre-exec hook: rlimits, and the move into the cgroup."""
    mb = 1024 * 1024

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        size = limits.file_size_mb * mb
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        cpu = limits.cpu_seconds or int(timeout) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        if cgroup is not None:
            cgroup.enter(os.getpid())
        else:
            # Without a cgroup: address space stands in for memory, and the
            # process count binds only non-root users.
            mem = limits.memory_mb * mb
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))

    return apply


def _kill(proc: asyncio.subprocess.Process, cgroup: Cgroup | None) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    if cgroup is not None:
        cgroup.kill_all()


async def run_process(argv: list[str], limits: Limits, *, timeout: float | None = None,
                      output_chars: int | None = None, env: dict[str, str] | None = None,
                      cwd: str | None = None, use_cgroup: bool = True, pass_fds: tuple[int, ...] = (),
                      on_spawn: Callable[[asyncio.subprocess.Process], Awaitable[None]] | None = None) -> ExecResult:
    """Run argv under `limits`. `on_spawn` runs once the process exists, before its output
    is read (bwrap waits on a descriptor in `pass_fds` until it is done)."""
    timeout = limits.timeout if timeout is None else timeout
    cap = OutputCap(output_chars or limits.output_chars)
    cgroup = Cgroup.create(limits.memory_mb, limits.pids) if use_cgroup else None
    started = time.monotonic()
    timed_out = False
    proc: asyncio.subprocess.Process | None = None
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True, pass_fds=pass_fds,
            preexec_fn=_limit_setter(limits, cgroup, timeout))
        if on_spawn is not None:
            await on_spawn(proc)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        flooded = False

        async def pump() -> None:
            nonlocal flooded
            total = 0
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(READ_CHUNK):
                total += len(chunk)
                cap.feed(decoder.decode(chunk))
                if total > limits.max_output_bytes:
                    flooded = True
                    _kill(proc, cgroup)
                    return

        reader = asyncio.ensure_future(pump())
        # Not `proc.wait()`: on some Pythons it also waits for the pipe, which a
        # background job can hold open forever.
        deadline = started + timeout
        exited_at: float | None = None
        while True:
            if reader.done() and proc.returncode is None and not flooded:
                # The pipe is closed, so waiting for the exit cannot hang on it.
                try:
                    await asyncio.wait_for(proc.wait(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    timed_out = True
                break
            await asyncio.wait({reader}, timeout=POLL)
            now = time.monotonic()
            if proc.returncode is not None:
                exited_at = exited_at or now
                if reader.done() or now - exited_at > DRAIN_AFTER_EXIT or flooded:
                    break  # the command is over; whatever it left running must not hold the pipe
            elif flooded:
                break
            elif now > deadline:
                timed_out = True
                break
        _kill(proc, cgroup)
        try:
            await asyncio.wait_for(reader, 5)
        except asyncio.TimeoutError:
            reader.cancel()
        await proc.wait()
        cap.feed(decoder.decode(b"", final=True))
        returncode = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        error = limit_error(limits, timed_out=timed_out, flooded=flooded, timeout=timeout,
                            oom=bool(cgroup and cgroup.oom_kills()), pid_limit=bool(cgroup and cgroup.pid_limit_hits()),
                            signal=-returncode if returncode < 0 else None)
        if returncode < 0:
            returncode = 128 - returncode  # the shell's convention: 137 = killed by SIGKILL
        return ExecResult(returncode=returncode, output=cap.text(), seconds=time.monotonic() - started,
                          timed_out=timed_out, truncated=cap.truncated, error=error)
    finally:
        if proc is not None and proc.returncode is None:  # cancelled mid-command: nothing may outlive it
            _kill(proc, cgroup)
        if cgroup is not None:
            await asyncio.to_thread(cgroup.remove)
