"""`agent serve` in front of an upstream vs calling the upstream directly, and a
load test of many concurrent streaming requests.

    python bench/endpoint_overhead.py [--requests 200] [--delay 0 --delay 0.1] [--load 500]

Both run as their own processes: the upstream is tests/fakes/openai_stub_server.py
(answers after `--delay` seconds, a stand-in for a fast vLLM), and `agent serve
-m openai:stub@<upstream>` proxies it. One aiohttp client sends the same
non-streaming requests to each, alternating, one at a time (latency) and 16 at
a time (throughput); it prints p50 / mean latency and the ratio via-serve /
direct. Then `--load` streaming requests at once through `agent serve`:
p50 / p99 time to the last byte, errors, and the server's RSS before and
after two rounds (memory must not grow round over round).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BODY = {"model": "stub", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one(session: aiohttp.ClientSession, url: str, stream: bool = False) -> float:
    started = time.perf_counter()
    async with session.post(url, json={**BODY, "stream": stream}) as r:
        body = await r.read()
        if r.status != 200:
            raise RuntimeError(f"{r.status}: {body[:200]!r}")
        if stream and not body.rstrip().endswith(b"data: [DONE]"):
            raise RuntimeError("stream did not finish")
        if not stream:
            json.loads(body)
    return time.perf_counter() - started


async def latencies(urls: dict[str, str], requests: int, concurrency: int,
                    stream: bool = False) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in urls}
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for name, url in urls.items():  # warm up connections and caches
            await asyncio.gather(*(one(session, url, stream) for _ in range(concurrency)))
        for _ in range(requests // concurrency):
            for name, url in urls.items():  # alternate, so load drifts hit both alike
                out[name] += await asyncio.gather(*(one(session, url, stream) for _ in range(concurrency)))
    return out


async def load(url: str, count: int) -> tuple[list[float], int]:
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        results = await asyncio.gather(*(one(session, url, stream=True) for _ in range(count)), return_exceptions=True)
    times = [r for r in results if isinstance(r, float)]
    return times, len(results) - len(times)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=192)
    ap.add_argument("--delay", type=float, action="append")
    ap.add_argument("--load", type=int, default=500)
    args = ap.parse_args()
    console = Console()
    table = Table("upstream delay", "mode", "concurrency", "direct p50 ms", "via serve p50 ms", "direct mean ms",
                  "via serve mean ms", "ratio (mean)")
    load_rows = []
    for delay in args.delay or [0.0, 0.1]:
        up_port, serve_port = free_port(), free_port()
        upstream = subprocess.Popen([sys.executable, str(ROOT / "tests/fakes/openai_stub_server.py"), "--port",
                                     str(up_port), "--delay", str(delay)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        serve = subprocess.Popen([sys.executable, "-m", "agentforge", "serve", "-m",
                                  f"openai:stub@http://127.0.0.1:{up_port}/v1", "--name", "stub", "--port",
                                  str(serve_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, "COLUMNS": "200"})
        try:
            await wait_ready(f"http://127.0.0.1:{up_port}/health")
            await wait_ready(f"http://127.0.0.1:{serve_port}/health")
            urls = {"direct": f"http://127.0.0.1:{up_port}/v1/chat/completions",
                    "serve": f"http://127.0.0.1:{serve_port}/v1/chat/completions"}
            for stream, concurrency in ((False, 1), (False, 16), (True, 1), (True, 16)):
                lat = await latencies(urls, args.requests, concurrency, stream)
                d, s = lat["direct"], lat["serve"]
                table.add_row(f"{delay * 1000:.0f} ms", "stream" if stream else "json", str(concurrency), f"{1000 * statistics.median(d):.1f}",
                              f"{1000 * statistics.median(s):.1f}", f"{1000 * statistics.mean(d):.1f}",
                              f"{1000 * statistics.mean(s):.1f}", f"{statistics.mean(s) / statistics.mean(d):.3f}")
            if args.load:
                before = rss_mb(serve.pid)
                rounds = []
                for _ in range(2):
                    started = time.perf_counter()
                    times, errors = await load(urls["serve"], args.load)
                    rounds.append((times, errors, time.perf_counter() - started, rss_mb(serve.pid)))
                load_rows.append((delay, before, rounds))
        finally:
            for proc in (serve, upstream):
                stopping = time.perf_counter()
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:  # a graceful shutdown is not what we measure
                    proc.kill()
                    proc.wait()
                if proc is serve:
                    console.print(f"[dim]agent serve exited {time.perf_counter() - stopping:.1f} s after SIGTERM[/]")
    console.print(table)
    if load_rows:
        lt = Table("upstream delay", "round", "streams", "errors", "p50 ms", "p99 ms", "wall s", "serve RSS MB")
        for delay, before, rounds in load_rows:
            lt.add_row(f"{delay * 1000:.0f} ms", "before", "", "", "", "", "", f"{before:.0f}")
            for i, (times, errors, wall, rss) in enumerate(rounds, 1):
                lt.add_row(f"{delay * 1000:.0f} ms", str(i), str(len(times) + errors), str(errors),
                           f"{1000 * pct(times, 0.5):.0f}" if times else "-",
                           f"{1000 * pct(times, 0.99):.0f}" if times else "-", f"{wall:.1f}", f"{rss:.0f}")
        console.print(lt)


if __name__ == "__main__":
    asyncio.run(main())
