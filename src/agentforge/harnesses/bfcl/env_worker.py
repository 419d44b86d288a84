"""A multi-turn environment in a worker process, so that no tool call can freeze the harness.

The official backends are plain Python and the model picks their arguments:
`power(base=7, exponent=30000000)` computes for 30+ s inside one bytecode,
holding the GIL all along, so neither a thread nor an asyncio timeout can stop
it. `EnvWorker` keeps an episode's `MultiTurnEnv` in a child process (started
on the first call) and gives every call a hard time limit; past it, the child
is killed. The episode starts the child while the model writes its first reply.

A stopped call (time limit, or the child died) is an error, written as the
official runner writes a call that raised: "Error during execution: ...". It
changes nothing: the backends are stateful across turns, so a fresh child is
brought to the state before the call by replaying the calls that finished (the
backends are deterministic; the official checker relies on that too). The
episode records a stopped call's result with the call (multi_turn.STOPPED), so
the checker, a re-scoring and a resumed run take that result and never run the
call again. The official runner has no time limit; this is the one place where
we differ on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv, stopped_result

CALL_TIMEOUT_ENV = "AGENTFORGE_BFCL_CALL_TIMEOUT"
DEFAULT_CALL_TIMEOUT_S = 10.0  # the backends answer in milliseconds; 10 s is only ever an abuse
START_TIMEOUT_S = 120.0  # a fresh interpreter on a loaded machine (not charged to any call)
MEMORY_LIMIT_BYTES = 4 << 30  # address space of a worker: a huge allocation is a MemoryError, not a swap storm
_HEADER = 8  # bytes of a frame's length prefix


def call_timeout() -> float:
    """Seconds a tool call may run: $AGENTFORGE_BFCL_CALL_TIMEOUT, else 10."""
    given = os.environ.get(CALL_TIMEOUT_ENV, "").strip()
    if not given:
        return DEFAULT_CALL_TIMEOUT_S
    try:
        seconds = float(given)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{CALL_TIMEOUT_ENV}={given!r}: give the seconds a BFCL tool call may run, e.g. 10")
    return seconds


class WorkerError(RuntimeError):
    """The environment could not be (re)built in a worker; the episode cannot go on."""


@dataclass
class CallOutcome:
    result: str  # the tool result the model sees
    stopped: bool = False  # the call was stopped and changed nothing


class _Stopped(Exception):
    pass


class EnvWorker:
    """One episode's MultiTurnEnv in a child process; use as `async with`.

    `env` gives the starting state (it is copied; the episode's changes live in
    the child). `timeout`: seconds per call (default: call_timeout())."""

    def __init__(self, env: MultiTurnEnv, *, timeout: float | None = None) -> None:
        self.timeout = call_timeout() if timeout is None else timeout
        self._start_state = pickle.dumps(env, protocol=pickle.HIGHEST_PROTOCOL)
        self._finished: list[tuple[Any, Any]] = []  # calls that ran to the end, in order: what a restart replays
        self._proc: asyncio.subprocess.Process | None = None
        self._started: asyncio.Future | None = None  # the current child's start (spawn, then load)

    async def __aenter__(self) -> EnvWorker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def execute(self, name: Any, arguments: Any) -> CallOutcome:
        """Run one tool call (as MultiTurnEnv.execute) within the time limit."""
        await self._running()
        try:
            result = await self._ask(("call", name, arguments), self.timeout, f"it ran longer than {self.timeout:g} s")
        except _Stopped as e:
            return CallOutcome(stopped_result(str(e)), stopped=True)
        self._finished.append((name, arguments))
        return CallOutcome(result)

    async def state(self) -> dict[str, dict]:
        """Public attributes of each backend instance (MultiTurnEnv.state)."""
        await self._running()
        try:
            return await self._ask(("state",), START_TIMEOUT_S, "reading the state took too long")
        except _Stopped as e:
            raise WorkerError(f"could not read the environment's state: {e}") from None

    def start_soon(self) -> None:
        """Start the child in the background (e.g. while the model writes its first reply)."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
            # A failed start is reported to the call that waits for it; unawaited, it is not an error.
            self._started.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def close(self) -> None:
        started, self._started = self._started, None
        if started is not None and not started.done():
            started.cancel()
        if started is not None:
            try:
                await started
            except (asyncio.CancelledError, Exception):
                pass  # a start that failed or was cut short: reported to the call that waited, if any
        proc, self._proc = self._proc, None
        if proc is not None:
            await _end(proc)

    async def _running(self) -> None:
        self.start_soon()
        await self._started

    async def _start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__, str(os.getpid()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=_child_environment())
        # Replaying can take what those calls took; each finished within the limit.
        budget = START_TIMEOUT_S + self.timeout * len(self._finished)
        try:
            await self._ask(("load", self._start_state, self._finished), budget, f"starting took over {budget:g} s")
        except _Stopped as e:
            raise WorkerError(f"could not start the multi-turn environment's worker process: {e}") from None

    async def _ask(self, message: tuple, timeout: float, late: str) -> Any:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)

        async def exchange() -> tuple[str, Any]:
            proc.stdin.write(len(data).to_bytes(_HEADER, "big") + data)
            await proc.stdin.drain()
            size = int.from_bytes(await proc.stdout.readexactly(_HEADER), "big")
            return pickle.loads(await proc.stdout.readexactly(size))

        try:
            status, value = await asyncio.wait_for(exchange(), timeout)
        except asyncio.TimeoutError:
            self._forget()
            await _end(proc)
            raise _Stopped(late) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self._forget()
            raise _Stopped(f"the tool process died with exit code {await _end(proc)}") from None
        if status == "error":  # only loading can fail: a call's failure is its result
            self._forget()
            await _end(proc)
            raise WorkerError(f"the multi-turn environment's worker failed: {value}")
        return value

    def _forget(self) -> None:
        # The child is gone or going: the next call starts (and replays into) a fresh one.
        self._proc = self._started = None


async def _end(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        # Not proc.kill(): Popen polls first, reaping a child that just died
        # before asyncio's watcher can, which then reports exit code 255.
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    code = await proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()
    return code


def _child_environment() -> dict[str, str]:
    # The child must import this very agentforge (a test may run it from a worktree's src/).
    source_root = str(Path(__file__).resolve().parents[3])
    paths = [source_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


# ---------------------------------------------------------------- the child

def _serve(parent: int) -> None:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # what a backend prints must not corrupt the replies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle; it kills us
    _die_with(parent)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # no such limit here: the time limit still holds
    requests = sys.stdin.buffer
    env: MultiTurnEnv | None = None
    while True:
        head = requests.read(_HEADER)
        if len(head) < _HEADER:
            return  # the harness closed the pipe
        message = pickle.loads(requests.read(int.from_bytes(head, "big")))
        try:
            if message[0] == "load":
                from agentforge.harnesses.bfcl.data import backends_importable

                backends_importable()  # the pickled instances name the wheel's modules
                env = pickle.loads(message[1])
                for name, arguments in message[2]:
                    env.execute(name, arguments)
                reply: tuple = ("ok", None)
            elif message[0] == "call":
                reply = ("ok", env.execute(message[1], message[2]))
            else:
                reply = ("ok", env.state())
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            data = pickle.dumps(("error", f"{type(e).__name__}: {e}"), protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(len(data).to_bytes(_HEADER, "big") + data)
        replies.flush()


def _die_with(parent: int) -> None:
    # A harness killed with SIGKILL cannot kill us; the kernel does, instead of a
    # call computing on for hours (Linux only; elsewhere the pipe's end stops us after the call).
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(0)  # the harness was gone before we could ask


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
