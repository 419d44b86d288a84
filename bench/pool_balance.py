"""Replica pools: sticky sessions vs plain balancing, and failover when a replica dies.

    python bench/pool_balance.py [--replicas 4] [--conversations 64] [--steps 8] [--concurrency 32]

Stub replicas (in a subprocess, so their CPU is not the client's) emulate what
matters for balancing a vLLM fleet: a prefix cache per replica (an LRU of
conversations; a request whose conversation the replica has seen only
prefills its new tokens) and a fixed number of batch slots. An agent
workload of multi-turn conversations runs through `UpstreamPool` with each
policy; the table shows prefix-cache hits, latency and wall time, as ratios
against round robin. Then one replica is killed a third of the way through a
sticky run: the count of failed client requests should be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from collections import OrderedDict

from aiohttp import web
from rich.console import Console
from rich.table import Table

from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.messages import Message
from agentforge.serving.pool import PoolPolicy, UpstreamPool

PREFILL_S_PER_TOKEN = 0.0001  # 1,000 uncached tokens: 100 ms
DECODE_S = 0.05
SYSTEM_TOKENS, STEP_TOKENS = 1500, 200


# ---------------------------------------------------------------- the stub replicas (subprocess)


def replica_app(slots: int, cache_size: int) -> web.Application:
    cache: OrderedDict[str, int] = OrderedDict()  # conversation -> tokens cached
    gate = asyncio.Semaphore(slots)
    stats = {"requests": 0, "cached_tokens": 0, "prompt_tokens": 0}

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        conv = next(m["content"] for m in body["messages"] if m["role"] == "user")
        steps = sum(m["role"] == "assistant" for m in body["messages"])
        prompt = SYSTEM_TOKENS + STEP_TOKENS * steps
        cached = min(cache.pop(conv, 0), prompt)
        async with gate:
            await asyncio.sleep((prompt - cached) * PREFILL_S_PER_TOKEN + DECODE_S)
        cache[conv] = prompt + 20
        while len(cache) > cache_size:
            cache.popitem(last=False)
        stats["requests"] += 1
        stats["cached_tokens"] += cached
        stats["prompt_tokens"] += prompt
        return web.json_response({"id": "x", "object": "chat.completion", "created": 0, "model": "stub",
                                  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                               "message": {"role": "assistant", "content": f"step {steps} done"}}],
                                  "usage": {"prompt_tokens": prompt, "completion_tokens": 20,
                                            "total_tokens": prompt + 20,
                                            "prompt_tokens_details": {"cached_tokens": cached}}})

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def reset(request: web.Request) -> web.Response:
        cache.clear()
        stats.update(requests=0, cached_tokens=0, prompt_tokens=0)
        return web.json_response(stats)

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/reset", reset)
    return app


async def serve_replicas(count: int, slots: int, cache_size: int) -> None:
    runners = []
    ports = []
    for _ in range(count):
        runner = web.AppRunner(replica_app(slots, cache_size), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports.append(runner.addresses[0][1])
    print("PORTS " + " ".join(map(str, ports)), flush=True)
    # a line "kill K" on stdin stops replica K (its port refuses connections from then on)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.startswith("kill "):
            await runners[int(line.split()[1])].cleanup()
            print("KILLED", flush=True)


# ---------------------------------------------------------------- policies compared


class RoundRobin(UpstreamPool):
    def order(self, key, now=None):
        self._turn += 1
        k = self._turn % len(self.replicas)
        return self.replicas[k:] + self.replicas[:k]


class Random(UpstreamPool):
    def order(self, key, now=None):
        return random.sample(self.replicas, len(self.replicas))


def least_outstanding(replicas, name):
    return UpstreamPool(replicas, name, PoolPolicy(sticky=False, check_interval=0))


def sticky(replicas, name):
    return UpstreamPool(replicas, name, PoolPolicy(check_interval=1.0))


POLICIES = {
    "round robin": lambda r, n: RoundRobin(r, n, PoolPolicy(check_interval=0)),
    "random": lambda r, n: Random(r, n, PoolPolicy(check_interval=0)),
    "least outstanding": least_outstanding,
    "sticky + bounded load (ours)": sticky,
}


async def run_workload(pool: UpstreamPool, conversations: int, steps: int, concurrency: int,
                       on_progress=None, seed: int = 0) -> tuple[list[float], int]:
    """Conversations of 1..2*steps-1 steps (mean `steps`), with 0-200 ms of "tool time" between steps."""
    rng = random.Random(seed)
    plan = [(rng.randint(1, 2 * steps - 1), [rng.uniform(0, 0.2) for _ in range(2 * steps)])
            for _ in range(conversations)]
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0
    done = 0

    async def conversation(c: int) -> None:
        nonlocal errors, done
        msgs = [Message.system("You are an agent."), Message.user(f"conversation {c}")]
        length, tool_times = plan[c]
        for step in range(length):
            await asyncio.sleep(tool_times[step])
            async with gate:
                t = time.perf_counter()
                try:
                    [reply] = await pool.complete(msgs)
                except Exception:  # noqa: BLE001 - counted: the benchmark's point
                    errors += 1
                    continue
                finally:
                    done += 1
                    if on_progress:
                        await on_progress(done)
                latencies.append(time.perf_counter() - t)
            msgs = [*msgs, Message(role="assistant", content=reply.content), Message.user("go on")]

    await asyncio.gather(*(conversation(c) for c in range(conversations)))
    return latencies, errors


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--conversations", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--slots", type=int, default=8, help="batch slots per replica")
    ap.add_argument("--cache", type=int, default=24, help="conversations each replica's prefix cache holds")
    ap.add_argument("--serve-replicas", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_replicas:
        await serve_replicas(args.replicas, args.slots, args.cache)
        return

    import aiohttp

    def start_stubs() -> tuple[subprocess.Popen, list[str]]:
        proc = subprocess.Popen([sys.executable, __file__, "--serve-replicas", "--replicas", str(args.replicas),
                                 "--slots", str(args.slots), "--cache", str(args.cache)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ports = proc.stdout.readline().split()[1:]
        return proc, [f"http://127.0.0.1:{p}" for p in ports]

    async def stats(urls: list[str]) -> list[dict]:
        out = []
        async with aiohttp.ClientSession() as s:
            for u in urls:
                try:
                    async with s.get(u + "/stats") as r:
                        out.append(await r.json())
                except aiohttp.ClientError:
                    out.append(None)
        return out

    console = Console()
    rows = []
    for label, make in POLICIES.items():
        proc, urls = start_stubs()  # fresh replicas: empty caches for every policy
        pool = make([OpenAIBackend("stub", u + "/v1", max_retries=1, timeout=60) for u in urls], "stub")
        t = time.perf_counter()
        lat, errors = await run_workload(pool, args.conversations, args.steps, args.concurrency)
        wall = time.perf_counter() - t
        per = await stats(urls)
        await pool.aclose()
        proc.kill()
        proc.wait()
        hit = sum(s["cached_tokens"] for s in per) / max(1, sum(s["prompt_tokens"] for s in per))
        q = statistics.quantiles(lat, n=100)
        spread = [s["requests"] for s in per]
        rows.append((label, hit, statistics.median(lat), q[98], wall, errors, spread))
        console.print(f"[dim]{label}: done in {wall:.1f}s[/]")

    base = rows[0]
    table = Table(title=f"{args.replicas} replicas, {args.conversations} conversations x {args.steps} steps, "
                        f"{args.concurrency} in flight (ratios vs round robin)")
    for col in ("policy", "prefix-cache hit", "p50 latency", "p99 latency", "wall time", "errors", "requests/replica"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for label, hit, p50, p99, wall, errors, spread in rows:
        table.add_row(label, f"{hit:.0%}", f"{p50 * 1000:.0f} ms ({p50 / base[2]:.2f}x)",
                      f"{p99 * 1000:.0f} ms ({p99 / base[3]:.2f}x)", f"{wall:.1f} s ({wall / base[4]:.2f}x)",
                      str(errors), " ".join(map(str, spread)))
    console.print(table)

    # failover: kill replica 0 a third of the way through a sticky run
    proc, urls = start_stubs()
    pool = sticky([OpenAIBackend("stub", u + "/v1", max_retries=1, timeout=60) for u in urls], "stub")
    total = args.conversations * args.steps  # expected: conversation lengths vary around --steps
    killed = False

    async def maybe_kill(done: int) -> None:
        nonlocal killed
        if not killed and done >= total // 3:
            killed = True
            proc.stdin.write("kill 0\n")
            proc.stdin.flush()

    lat, errors = await run_workload(pool, args.conversations, args.steps, args.concurrency, maybe_kill)
    status = pool.status()
    await pool.aclose()
    proc.kill()
    proc.wait()
    console.print(f"failover: replica 0 killed after {total // 3} of ~{total} requests -> "
                  f"{len(lat)} answered, [bold]{errors} failed[/]; replica states: "
                  + json.dumps([(r['name'], r['healthy'], r['served'], r['failed']) for r in status["replicas"]]))


if __name__ == "__main__":
    asyncio.run(main())
