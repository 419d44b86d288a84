"""`agent serve` under abuse: slow and numerous connections, requests built to
crash it, and web pages trying to drive it. Each test replays an attack from the
adversarial review (issue 13) against the real server on 127.0.0.1; the model
behind it is the EchoBackend test double unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.serving.server import ServerLimits, make_app, start_server
from tests.fakes.echo_backend import EchoBackend
from tests.serving.test_server import USER, assert_error, post, start  # noqa: F401  (start: a fixture)

REPO = Path(__file__).resolve().parents[2]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def _eventually(check, seconds: float = 20.0):
    """Poll `check()` (async) until it returns something truthy; that value, or None at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.1)
    return None


async def _health_status(url: str, headers: dict | None = None) -> int | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            async with s.get(url + "/health", headers=headers) as r:
                return r.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None


async def _healthy(url: str) -> bool:
    return await _health_status(url) == 200


async def _trickle(writer: asyncio.StreamWriter, every: float = 0.2) -> None:
    """Send one more header line now and then, never the blank line that ends them."""
    try:
        while True:
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            await asyncio.sleep(every)
    except (ConnectionError, OSError):
        pass


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


async def _closed_while_trickling(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Trickle header bytes; the server must close the connection within 10 s."""
    trickling = asyncio.create_task(_trickle(writer))
    started = time.monotonic()
    try:
        data = await asyncio.wait_for(reader.read(), 20)  # b"" once the server closes it
    finally:
        trickling.cancel()
        writer.close()
    assert data == b"" and time.monotonic() - started < 10


# ---------------------------------------------------------------- connections


async def test_a_connection_that_trickles_its_headers_is_closed(start):
    url, _ = await start(limits=ServerLimits(header_timeout=1.0))
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(url))
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await _closed_while_trickling(reader, writer)


async def test_the_next_request_on_a_kept_alive_connection_has_a_deadline_too(start):
    url, _ = await start(limits=ServerLimits(header_timeout=30.0, keepalive_timeout=1.0))
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(url))
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (await asyncio.wait_for(_read_response(reader), 10)).startswith(b"HTTP/1.1 200")
    writer.write(b"GET /health HTTP/1.1\r\n")
    await _closed_while_trickling(reader, writer)


async def test_connections_over_the_cap_get_a_503_and_are_closed(start):
    url, _ = await start(limits=ServerLimits(max_connections=4, header_timeout=60.0))
    idle = [await asyncio.open_connection("127.0.0.1", _port(url)) for _ in range(4)]
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(url))
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 20)
    writer.close()
    assert data.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in data and b"too_many_connections" in data
    for _, w in idle:
        w.close()
    assert await _eventually(lambda: _healthy(url))  # their places are free again


SERVER_WITH_256_FDS = """
import asyncio, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from agentforge.serving.server import ServerLimits, make_app, start_server
from tests.fakes.echo_backend import EchoBackend

async def main():
    app = make_app({"echo": EchoBackend()}, limits=ServerLimits(header_timeout=2.0))
    runner, port = await start_server(app)
    print(port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
async def test_hundreds_of_slow_header_connections_do_not_exhaust_descriptors():
    """The review's attack: 260 connections that never finish their headers, against a
    server allowed 256 descriptors. Before, accept() failed with EMFILE and /health
    never answered again; now the cap (fitted to the fd limit) refuses the excess with
    503 and the header deadline frees the rest."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER_WITH_256_FDS], cwd=REPO, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(REPO)])})
    slow: list[asyncio.StreamWriter] = []
    try:
        port = int(await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60))
        url = f"http://127.0.0.1:{port}"
        most_fds = 0
        for _ in range(260):
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            except (OSError, asyncio.TimeoutError):
                continue  # the backlog is full: that is the server's problem, not this client's
            w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(w)
            most_fds = max(most_fds, _open_fds(proc.pid))
        healthy = await _eventually(lambda: _healthy(url), seconds=30)
        most_fds = max(most_fds, _open_fds(proc.pid))
        assert healthy
        assert most_fds < 200, f"the server held {most_fds} of its 256 descriptors"
    finally:
        for w in slow:
            w.close()
        proc.kill()
        proc.wait(10)


# ---------------------------------------------------------------- bad input gets a 4xx, never a 5xx


@pytest.mark.parametrize("digits", ["7" * 4301, "9" * 100_000, "0" * 5000 + "2" * 30],
                         ids=["4301 digits", "100k digits", "5030 digits"])
async def test_a_best_of_n_name_with_thousands_of_digits_is_a_400(start, digits):
    url, backend = await start()
    status, body = await post(url, {"model": f"echo@best-of-{digits}:vote", "messages": USER})
    assert_error(status, body, 400, code="invalid_model", param="model")
    assert "N must be between 1 and 16" in body["error"]["message"] and len(body["error"]["message"]) < 400
    assert not backend.calls


async def test_best_of_n_names_are_cached_by_meaning_not_spelling(start, monkeypatch):
    """best-of-2, best-of-02, best-of-002... are one model: one BestOfN, not one per spelling."""
    import agentforge.selectors.best_of_n as best_of_n

    made = []

    class Counted(best_of_n.BestOfN):
        def __init__(self, *args, **kwargs):
            made.append(args[1:3])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(best_of_n, "BestOfN", Counted)
    url, _ = await start()
    async with aiohttp.ClientSession() as s:
        for zeros in range(300):
            async with s.get(f"{url}/v1/models/echo@best-of-{'0' * zeros}2:vote") as r:
                assert r.status == 200
        async with s.get(f"{url}/v1/models/echo@best-of-3:vote") as r:
            assert r.status == 200
    assert made == [(2, "vote"), (3, "vote")]


def _nested_schema(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


class TemplateBackend(EchoBackend):
    """Renders the prompt with the embedded model's real chat template (through a real,
    tiny Hugging Face tokenizer), as the embedded backend does, then echoes."""

    def __init__(self):
        super().__init__()
        from tokenizers import Tokenizer, models
        from transformers import PreTrainedTokenizerFast

        from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE

        self.tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")), chat_template=CHAT_TEMPLATE)

    async def complete(self, messages, tools=None, n=1, sampling=None):
        from agentforge.runtime.backends.chat_format import render_prompt

        render_prompt(self.tokenizer, messages, tools)
        return await super().complete(messages, tools, n, sampling)


async def test_a_tool_schema_nested_400_deep_is_a_400(start):
    url, backend = await start(backend=TemplateBackend())
    tool = {"type": "function", "function": {"name": "f", "parameters": _nested_schema(400)}}
    status, body = await post(url, {"model": "echo", "messages": USER, "tools": [tool]})
    assert_error(status, body, 400, code="invalid_value", param="tools")
    assert "nests objects and arrays 799 levels deep; at most 128" in body["error"]["message"]
    assert not backend.calls
    ok = {"type": "function", "function": {"name": "f", "parameters": _nested_schema(64)}}
    status, body = await post(url, {"model": "echo", "messages": USER, "tools": [ok]})
    assert status == 200, body  # the template renders what the limit lets through


def _context_length_upstream() -> aiohttp.web.Application:
    """An upstream that refuses every prompt as vLLM words it."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        return web.json_response({"object": "error", "type": "BadRequestError", "code": 400, "message": (
            "This model's maximum context length is 2048 tokens. However, you requested 9000 tokens "
            "(8000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.")},
            status=400)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.mark.parametrize("stream", [False, True])
async def test_a_prompt_longer_than_the_upstream_context_is_a_400(stream):
    upstream, up_port = await start_server(_context_length_upstream())
    proxy = OpenAIBackend("m", base_url=f"http://127.0.0.1:{up_port}/v1", api_key="x", max_retries=0)
    runner, port = await start_server(make_app({"m": proxy}))
    try:
        status, body = await post(f"http://127.0.0.1:{port}", {"model": "m", "messages": USER, "stream": stream})
    finally:
        await runner.cleanup()
        await proxy.aclose()
        await upstream.cleanup()
    assert_error(status, body, 400, code="context_length_exceeded", param="messages")
    assert "maximum context length is 2048 tokens" in body["error"]["message"]
    assert "shorten the conversation" in body["error"]["message"]


class TooLongBackend(EchoBackend):
    async def complete(self, messages, tools=None, n=1, sampling=None):
        from agentforge.runtime.backends.base import ContextLengthError

        raise ContextLengthError("prompt of 9000 tokens does not fit the model's context of 8192")

    def stream(self, messages, tools=None, n=1, sampling=None):
        from agentforge.runtime.backends.base import stream_from_complete

        return stream_from_complete(self, messages, tools, n, sampling)


async def test_a_context_length_error_from_any_backend_is_a_400(start):
    url, _ = await start(backend=TooLongBackend())
    for stream in (False, True):  # the stream's headers wait for its first event, so this is a status too
        status, body = await post(url, {"model": "echo", "messages": USER, "stream": stream})
        assert_error(status, body, 400, code="context_length_exceeded")
        assert "does not fit the model's context of 8192" in body["error"]["message"]


# ---------------------------------------------------------------- no key: no web page may drive the server


@pytest.mark.parametrize("headers", [
    {"Host": "attacker.example"},  # DNS rebinding: the page's own name, resolved to 127.0.0.1
    {"Host": "attacker.example:8000"},
    {"Origin": "http://attacker.example"},  # a cross-site page calling 127.0.0.1 directly
    {"Origin": "null"},  # a sandboxed frame
])
async def test_without_a_key_foreign_hosts_and_origins_get_a_403(start, headers):
    url, backend = await start()
    status, body = await post(url, {"model": "echo", "messages": USER}, headers=headers)
    assert_error(status, body, 403, code="host_not_allowed")
    assert "--allow-host" in body["error"]["message"]
    assert await _health_status(url, headers) == 403
    assert not backend.calls


@pytest.mark.parametrize("headers", [
    {"Host": "localhost:8000"}, {"Host": "127.0.0.1:8000"}, {"Host": "[::1]:8000"}, {"Host": "10.1.2.3"},
    {"Host": "LOCALHOST"}, {"Host": "127.0.0.1:8000", "Origin": "http://localhost:3000"},
    {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"},
])
async def test_without_a_key_local_and_ip_hosts_are_served(start, headers):
    url, _ = await start()
    status, body = await post(url, {"model": "echo", "messages": USER}, headers=headers)
    assert status == 200, body


async def test_allowed_host_names_and_keys_lift_the_host_check():
    allowed = make_app({"echo": EchoBackend()}, allow_hosts=["gpu-box.lan"])
    keyed = make_app({"echo": EchoBackend()}, api_keys=["sk-1"])
    (r1, p1), (r2, p2) = await start_server(allowed), await start_server(keyed)
    try:
        ok, _ = await post(f"http://127.0.0.1:{p1}", {"model": "echo", "messages": USER},
                           headers={"Host": "gpu-box.lan:8000", "Origin": "http://gpu-box.lan:8000"})
        other, _ = await post(f"http://127.0.0.1:{p1}", {"model": "echo", "messages": USER},
                              headers={"Host": "other.lan"})
        with_key, _ = await post(f"http://127.0.0.1:{p2}", {"model": "echo", "messages": USER},
                                 headers={"Host": "anything.example", "Authorization": "Bearer sk-1"})
    finally:
        await r1.cleanup()
        await r2.cleanup()
    assert (ok, other, with_key) == (200, 403, 200)
