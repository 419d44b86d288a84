"""Replay the adversarial review's attacks on `agent serve` and print one table row each.

Run it once per code version to get "before" and "after" columns, e.g.

    PYTHONPATH=/path/to/old/src:. python bench/server_abuse.py
    PYTHONPATH=src:. python bench/server_abuse.py --embedded

(`.` for tests/fakes/echo_backend.py). --embedded adds the attacks that need the
embedded model: a 4 MB prompt, a prompt longer than the context and a deep tool
schema against the real chat template.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from agentforge.serving.server import ServerLimits, make_app, start_server
from tests.fakes.echo_backend import EchoBackend

USER = [{"role": "user", "content": "hi"}]


@contextmanager
def serving(app):
    """The app on its own event loop in a thread; yields the port."""
    loop = asyncio.new_event_loop()
    box: dict = {}
    ready = threading.Event()

    async def up():
        box["runner"], box["port"] = await start_server(app)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(up()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(120)
    try:
        yield box["port"]
    finally:
        asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def request(port: int, method: str, path: str, body: object = None, headers: dict | None = None,
            timeout: float = 120) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, {"raw": raw[:200].decode(errors="replace")}
    finally:
        conn.close()


def row(attack: str, result: str) -> None:
    print(f"| {attack} | {result} |", flush=True)


# ---------------------------------------------------------------- attacks on the echo server


def bad_inputs(port: int) -> None:
    status, body = request(port, "POST", "/v1/chat/completions",
                           {"model": "echo@best-of-" + "7" * 4301 + ":vote", "messages": USER})
    row("best-of-N name with 4,301 digits", f"{status} {body['error'].get('code')}")
    status, body = request(port, "POST", "/v1/chat/completions",
                           {"model": "echo", "messages": USER}, headers={"Host": "attacker.example"})
    row("no key, `Host: attacker.example` (DNS rebinding)", f"{status}" + (f" {body['error']['code']}" if status >= 400 else ""))
    status, body = request(port, "POST", "/v1/chat/completions",
                           {"model": "echo", "messages": USER}, headers={"Origin": "http://attacker.example"})
    row("no key, `Origin: http://attacker.example`", f"{status}" + (f" {body['error']['code']}" if status >= 400 else ""))


def alias_cache(app, port: int, spellings: int) -> None:
    started = time.perf_counter()
    statuses: dict[int, int] = {}
    for zeros in range(spellings):
        body = {"model": f"echo@best-of-{'0' * zeros}2:vote", "messages": USER, "max_tokens": 1}
        status = request(port, "POST", "/v1/chat/completions", body)[0]
        statuses[status] = statuses.get(status, 0) + 1
    answered = ", ".join(f"{n:,} x {s}" for s, n in sorted(statuses.items()))
    row(f"best-of-N alias cache after {spellings:,} spellings of best-of-2",
        f"{len(_virtual_models(app)):,} entries (answers: {answered}; {time.perf_counter() - started:.0f} s)")


def _virtual_models(app) -> dict:
    """The server's best-of-N cache: an app key now, a closure variable before."""
    for key in app:
        if getattr(key, "name", None) == "virtual_models":
            return app[key]
    for route in app.router.routes():
        for cell in route.handler.__closure__ or ():
            code = getattr(cell.cell_contents, "__code__", None)
            if code is not None and "virtual" in code.co_freevars:
                return cell.cell_contents.__closure__[code.co_freevars.index("virtual")].cell_contents
    raise LookupError("no best-of-N cache found")


def one_slow_loris(port: int, give_up: float = 60.0) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sock.settimeout(0.5)
    started = time.monotonic()
    closed = None
    while time.monotonic() - started < give_up:
        try:
            sock.sendall(b"X-Slow: 1\r\n")
            if sock.recv(1) == b"":
                closed = time.monotonic() - started
                break
        except socket.timeout:
            continue
        except OSError:
            closed = time.monotonic() - started
            break
    sock.close()
    row("one connection trickling its headers", f"closed after {closed:.1f} s" if closed else
        f"still open after {give_up:.0f} s")


SERVER_WITH_256_FDS = """
import asyncio, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from agentforge.serving.server import ServerLimits, make_app, start_server
from tests.fakes.echo_backend import EchoBackend

async def main():
    runner, port = await start_server(make_app({"echo": EchoBackend()}))
    print(port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def slow_header_flood(connections: int = 260, wait: float = 60.0) -> None:
    """The review's attack: 260 slow-header connections at a server allowed 256 descriptors
    (default limits: 15 s header deadline after the fix)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER_WITH_256_FDS], stdout=subprocess.PIPE, env=os.environ)
    socks = []
    try:
        port = int(proc.stdout.readline())
        for _ in range(connections):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                socks.append(s)
            except OSError:
                pass
        most = len(os.listdir(f"/proc/{proc.pid}/fd"))
        started = time.monotonic()
        healthy = None
        while time.monotonic() - started < wait:
            most = max(most, len(os.listdir(f"/proc/{proc.pid}/fd")))
            try:
                if request(port, "GET", "/health", timeout=2)[0] == 200:
                    healthy = time.monotonic() - started
                    break
            except OSError:
                pass
            time.sleep(0.2)
        row(f"{connections} slow-header connections, server allowed 256 fds",
            f"server held up to {most} fds; /health " +
            (f"answered after {healthy:.1f} s" if healthy is not None else f"no answer in {wait:.0f} s"))
    finally:
        for s in socks:
            s.close()
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- attacks on the embedded model


def embedded_attacks(port: int, name: str) -> None:
    latencies: list[float] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            t0 = time.perf_counter()
            request(port, "GET", "/health")
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    t0 = time.perf_counter()
    status, _ = request(port, "POST", "/v1/chat/completions", {
        "model": name, "max_tokens": 1,
        "messages": [{"role": "user", "content": "hello world, this is a test. " * 140_000}]})
    took = time.perf_counter() - t0
    done.set()
    poller.join()
    row("/health during a 4 MB prompt", f"worst {max(latencies):.2f} s over {len(latencies)} polls "
        f"(the prompt took {took:.1f} s, answered {status})")
    status, body = request(port, "POST", "/v1/chat/completions", {
        "model": name, "max_tokens": 4, "messages": [{"role": "user", "content": "word " * 9000}]})
    row("prompt of ~9,000 tokens (context 8,192)", f"{status} {body.get('error', {}).get('code')}")
    schema: dict = {"type": "string"}
    for _ in range(400):
        schema = {"type": "object", "properties": {"a": schema}}
    status, body = request(port, "POST", "/v1/chat/completions", {
        "model": name, "max_tokens": 4, "messages": USER,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]})
    row("tool schema nested 400 deep", f"{status} {body.get('error', {}).get('code')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedded", action="store_true", help="also attack the embedded model (loads it)")
    ap.add_argument("--spellings", type=int, default=10_000)
    args = ap.parse_args()
    import agentforge

    print(f"agentforge from {Path(agentforge.__file__).parent}; load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n\n| attack | result |\n|---|---|", flush=True)
    app = make_app({"echo": EchoBackend()}, limits=ServerLimits())
    with serving(app) as port:
        bad_inputs(port)
        one_slow_loris(port)
        alias_cache(app, port, args.spellings)
    slow_header_flood()
    if args.embedded:
        from agentforge.runtime.backends.embedded import EmbeddedBackend

        backend = EmbeddedBackend.load(max_slots=4)
        try:
            with serving(make_app({backend.name: backend})) as port:
                embedded_attacks(port, backend.name)
        finally:
            backend.engine.stop()


if __name__ == "__main__":
    main()
