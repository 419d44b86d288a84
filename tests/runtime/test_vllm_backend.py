"""VLLMBackend: the launch command, and the process lifecycle.

vLLM itself cannot run here, so the lifecycle tests launch
tests/fakes/openai_stub_server.py (a test double) through the `command`
override, plus small scripts that crash or hang.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from agentforge.runtime.backends import make_backend
from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.backends.vllm_backend import VLLMBackend, vllm_command
from agentforge.runtime.messages import Message

STUB = str(Path(__file__).resolve().parents[1] / "fakes" / "openai_stub_server.py")


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_vllm_command_defaults():
    assert vllm_command("Qwen/Qwen3-8B", 8001, python="py") == [
        "py", "-m", "vllm.entrypoints.openai.api_server",
        "--model", "Qwen/Qwen3-8B", "--host", "127.0.0.1", "--port", "8001",
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--max-logprobs", "20",
    ]


def test_vllm_command_options():
    argv = vllm_command("m", 9, host="0.0.0.0", tool_call_parser="qwen3_coder", reasoning_parser="qwen3",
                        max_logprobs=5, chat_template="t.jinja", dtype="float32",
                        extra_args=["--max-model-len", "4096"], python="py")
    assert argv == [
        "py", "-m", "vllm.entrypoints.openai.api_server",
        "--model", "m", "--host", "0.0.0.0", "--port", "9",
        "--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder", "--max-logprobs", "5",
        "--reasoning-parser", "qwen3", "--chat-template", "t.jinja", "--dtype", "float32",
        "--max-model-len", "4096",
    ]
    assert vllm_command("m", 1)[0] == sys.executable


async def test_lifecycle_with_stub(tmp_path):
    log = tmp_path / "server.log"
    b = await VLLMBackend.start("stub-model", command=[sys.executable, STUB, "--port", "{port}", "--model",
                                                       "stub-model", "--loading-seconds", "0.5"],
                                log_path=log, startup_timeout=30, grace=2)
    pid = b.proc.pid
    try:
        out = await b.complete([Message.user("ping")], n=2)
        assert [c.content for c in out] == ["stub says: ping"] * 2
        events = [e async for e in b.stream([Message.user("ping")])]
        assert events[-1].completion.content == "stub says: ping"
        assert b.name == "stub-model" and "stub server for stub-model" in log.read_text()
    finally:
        await b.aclose()
    assert wait_gone(pid)
    await b.aclose()  # a second close is harmless


async def test_command_as_callable_and_make_backend(tmp_path):
    seen = []

    def command(port):
        seen.append(port)
        return [sys.executable, STUB, "--port", str(port)]

    b = await make_backend("vllm:stub", command=command, log_path=tmp_path / "l.log", grace=2)
    try:
        assert seen and b.client.base_url.rstrip("/").endswith(f":{seen[0]}/v1")
        assert (await b.complete([Message.user("x")]))[0].content == "stub says: x"
    finally:
        await b.aclose()


async def test_exits_immediately_gives_clear_error(tmp_path):
    script = "import sys; print('CUDA out of memory (pretend)'); sys.exit(3)"
    t0 = time.monotonic()
    with pytest.raises(BackendError) as e:
        await VLLMBackend.start("m", command=[sys.executable, "-c", script], log_path=tmp_path / "l.log",
                                startup_timeout=30)
    assert time.monotonic() - t0 < 10  # fails fast, not at the timeout
    msg = str(e.value)
    assert "exited with code 3" in msg and "CUDA out of memory (pretend)" in msg and "l.log" in msg


async def test_never_healthy_times_out_and_cleans_up(tmp_path):
    pids = tmp_path / "pids"
    # the "server" forks a worker (as vLLM does) and then never answers
    script = (
        "import os, subprocess, sys, time\n"
        "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{w.pid}}')\n"
        "print('loading weights...', flush=True)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(BackendError) as e:
        await VLLMBackend.start("m", command=[sys.executable, "-c", script], log_path=tmp_path / "l.log",
                                startup_timeout=1.5, grace=1)
    msg = str(e.value)
    assert "did not become healthy" in msg and "within 1.5s" in msg and "loading weights..." in msg
    leader, worker = map(int, pids.read_text().split())
    assert wait_gone(leader) and wait_gone(worker), "a process outlived the failed start"


async def test_a_vllm_spec_runs_with_the_python_that_has_vllm(tmp_path, monkeypatch):
    """Not installed anywhere: a clear error before any process starts. Installed in the venv of
    scripts/setup-vllm.sh: that venv's python launches it (a stand-in script here records its argv)."""
    from agentforge.runtime.backends import vllm_backend

    monkeypatch.setattr(vllm_backend, "vllm_python", lambda: None)
    with pytest.raises(BackendError, match="setup-vllm.sh"):
        await VLLMBackend.start("m", log_path=tmp_path / "none.log", startup_timeout=30)
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'argv'}\nexit 3\n")
    python.chmod(0o755)
    monkeypatch.setattr(vllm_backend, "vllm_python", lambda: (str(python), "the venv"))
    with pytest.raises(BackendError, match="exited with code 3"):
        await VLLMBackend.start("my/model", log_path=tmp_path / "l.log", startup_timeout=30)
    assert (tmp_path / "argv").read_text().startswith("-m vllm.entrypoints.openai.api_server")
