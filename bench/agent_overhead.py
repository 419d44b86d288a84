"""Runtime overhead per agent step, against a zero-latency OpenAI-compatible server.

    python bench/agent_overhead.py [--concurrency 1 64 512] [--steps 10] [--episodes-per-level N]
                                   [--repeats 3] [--transport httpx|aiohttp] [--tool sync|async]
                                   [--json PATH] [-v]

What it compares, at each concurrency level (episodes in flight on ONE event loop):

* baseline - the bare `openai.AsyncOpenAI` client doing the same k
  chat.completions.create calls per episode as the agent: same request
  options, same message growth (it appends the assistant message and a fake
  tool result "3" itself; no parsing, no validation).
* ours     - `run_agent(OpenAIBackend(...), messages, Toolbox([add]),
  limits=Limits(max_steps=k))`.

Each side has one shared client (one shared connection pool) with the same
transport and connection limits (--pool, default: the largest concurrency,
all kept alive). The server (bench/zero_latency_server.py) runs in its own
process, so its CPU time is not charged to the client process; on a small
machine it still competes with the client for cores, which shows up in wall
time (not in client CPU time).

Per level and side it measures wall time, steps/s and client-process CPU time
(time.process_time, all threads) per step; runs are interleaved (baseline,
ours, ours, baseline, ...) and the medians are reported, with
overhead = ours - baseline per step (ms) and the ratio ours / baseline.
Every episode is checked: `done` after exactly k steps, tool results "3";
the server rejects a request whose tool results are missing or wrong.

See also bench/profile_agent_overhead.py (cProfile of one side) and
bench/agent_overhead_parts.py (CPU cost of each piece of a step).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import openai

try:  # recent openai releases ship their own fork of httpx; the pool limits must be its type
    import httpx2 as httpx
except ImportError:
    import httpx

from agentforge.runtime.agent import Limits, run_agent
from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.messages import Message, Sampling
from agentforge.runtime.tools import Tool, Toolbox

HERE = Path(__file__).resolve().parent
MODEL = "zero-latency"
SYSTEM = "You are a calculator. Use the tools."
QUESTION = "What is 1 + 2?"


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


async def add_async(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


class BenchError(RuntimeError):
    """An episode did not go as the server scripted it: the numbers would be meaningless."""


# ---------------------------------------------------------------- the server process


class Server:
    def __init__(self, steps: int):
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "zero_latency_server.py"), "--steps", str(steps)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.proc.kill()
            raise BenchError(f"the server did not start (said {line!r})")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stats(self) -> dict[str, int]:
        """The server's counters: chat requests served, connections seen."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- the two clients


def http_client(pool: int | None, transport: str) -> httpx.AsyncClient:
    """The connection pool both sides get: `pool` connections, all kept alive.

    transport "httpx" is the openai client's default (httpcore's pool);
    "aiohttp" is openai.DefaultAioHttpClient (an aiohttp connector underneath).
    """
    make = openai.DefaultAioHttpClient if transport == "aiohttp" else openai.DefaultAsyncHttpxClient
    if pool is None:  # openai's defaults (1000 connections, 100 kept alive for 5 s)
        return make()
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=300.0)
    return make(limits=limits)


def request_options(sampling: Sampling, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The options run_agent sends with its default Sampling, spelled out for the bare client."""
    return {
        "n": 1,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "tools": tools,
    }


def baseline_episode_fn(client: openai.AsyncOpenAI, steps: int, options: dict[str, Any]) -> Callable[[], Awaitable[int]]:
    async def episode() -> int:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION},
        ]
        for step in range(1, steps + 1):
            resp = await client.chat.completions.create(model=MODEL, messages=messages, **options)
            msg = resp.choices[0].message
            if not msg.tool_calls:
                if step != steps:
                    raise BenchError(f"baseline: final answer after {step} steps, expected {steps}")
                return step
            messages.append({
                "role": "assistant",
                "content": msg.content,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                    for c in msg.tool_calls
                ],
            })
            for c in msg.tool_calls:
                messages.append({"role": "tool", "content": "3", "tool_call_id": c.id, "name": c.function.name})
        raise BenchError(f"baseline: no final answer after {steps} steps")

    return episode


def ours_episode_fn(backend: OpenAIBackend, toolbox: Toolbox, steps: int) -> Callable[[], Awaitable[int]]:
    limits = Limits(max_steps=steps)

    async def episode() -> int:
        traj = await run_agent(backend, [Message.system(SYSTEM), Message.user(QUESTION)], toolbox, limits=limits)
        if traj.status != "done" or len(traj.steps) != steps:
            raise BenchError(
                f"ours: episode ended {traj.status!r} after {len(traj.steps)} steps, expected 'done' after {steps}"
                + (f" ({traj.error})" if traj.error else "")
            )
        for step in traj.steps[:-1]:
            if [m.content for m in step.observations] != ["3"]:
                raise BenchError(f"ours: unexpected tool results {[m.content for m in step.observations]}")
        if traj.steps[-1].observations or traj.final_answer != "The answer is 3.":
            raise BenchError(f"ours: unexpected final answer {traj.final_answer!r}")
        return len(traj.steps)

    return episode


# ---------------------------------------------------------------- measuring


@dataclass
class Sample:
    side: str  # "baseline" | "ours"
    concurrency: int
    episodes: int
    steps: int  # model calls in all
    wall_s: float
    cpu_s: float  # client process (all threads)
    server_cpu_s: float | None
    new_connections: int = 0  # connections the server saw for the first time during the measurement

    @property
    def wall_ms_per_step(self) -> float:
        return 1000 * self.wall_s / self.steps

    @property
    def cpu_ms_per_step(self) -> float:
        return 1000 * self.cpu_s / self.steps

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_s


async def run_episodes(episode: Callable[[], Awaitable[int]], concurrency: int, episodes: int) -> int:
    """Run `episodes` episodes with exactly min(concurrency, episodes) in flight; total steps."""
    todo = iter(range(episodes))
    done: list[int] = []

    async def worker() -> None:
        for _ in todo:  # the iterator is shared: each worker takes the next episode
            done.append(await episode())

    await asyncio.gather(*(worker() for _ in range(min(concurrency, episodes))))
    if len(done) != episodes:
        raise BenchError(f"{len(done)} of {episodes} episodes finished")
    return sum(done)


async def measure(side: str, episode, concurrency: int, episodes: int, server: Server) -> Sample:
    gc.collect()
    conns0 = server.stats()["connections"]
    srv0 = server.cpu_seconds()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    steps = await run_episodes(episode, concurrency, episodes)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    srv1 = server.cpu_seconds()
    srv = None if srv0 is None or srv1 is None else srv1 - srv0
    return Sample(side, concurrency, episodes, steps, wall, cpu, srv, server.stats()["connections"] - conns0)


@dataclass
class Level:
    concurrency: int
    episodes: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    samples: list[Sample] = field(default_factory=list)

    def _med(self, side: str, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples if s.side == side)

    def _med_server(self, side: str) -> float | None:
        vals = [1000 * s.server_cpu_s / s.steps for s in self.samples if s.side == side and s.server_cpu_s is not None]
        return statistics.median(vals) if vals else None

    def _paired(self, attr: str) -> list[float]:
        base = [getattr(s, attr) for s in self.samples if s.side == "baseline"]
        ours = [getattr(s, attr) for s in self.samples if s.side == "ours"]
        return [o - b for b, o in zip(base, ours)]

    def summary(self) -> dict[str, Any]:
        sides = {s.side for s in self.samples}
        out: dict[str, Any] = {"concurrency": self.concurrency, "episodes": self.episodes,
                               "load_before": self.load_before, "load_after": self.load_after}
        for side in sorted(sides):
            out[side] = {
                "wall_ms_per_step": self._med(side, "wall_ms_per_step"),
                "cpu_ms_per_step": self._med(side, "cpu_ms_per_step"),
                "steps_per_s": self._med(side, "steps_per_s"),
                "server_cpu_ms_per_step": self._med_server(side),
                "new_connections": [s.new_connections for s in self.samples if s.side == side],
            }
        if sides == {"baseline", "ours"}:
            b, o = out["baseline"], out["ours"]
            for kind in ("wall", "cpu"):
                key = f"{kind}_ms_per_step"
                diffs = self._paired(key)
                out[f"{kind}_overhead_ms_per_step"] = o[key] - b[key]
                out[f"{kind}_overhead_paired_ms"] = {"median": statistics.median(diffs), "min": min(diffs), "max": max(diffs)}
                out[f"{kind}_ratio"] = o[key] / b[key]
        return out


def loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


async def bench(args: argparse.Namespace, server: Server) -> list[Level]:
    pool = None if args.default_pool else args.pool or max(args.concurrency)
    fn = add_async if args.tool == "async" else add
    toolbox = Toolbox([Tool(fn, name="add")])
    options = request_options(Sampling(), [t.model_dump() for t in toolbox.specs()])

    base_client = openai.AsyncOpenAI(
        base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=600.0, http_client=http_client(pool, args.transport)
    )
    backend = OpenAIBackend(MODEL, base_url=server.base_url, api_key="EMPTY",
                            http_client=http_client(pool, args.transport))
    if type(backend.client._client) is not type(base_client._client):  # same transport on both sides, or no comparison
        raise BenchError(f"transports differ: {type(base_client._client)} vs {type(backend.client._client)}")
    sides: dict[str, Callable[[], Awaitable[int]]] = {}
    if args.only in ("both", "baseline"):
        sides["baseline"] = baseline_episode_fn(base_client, args.steps, options)
    if args.only in ("both", "ours"):
        sides["ours"] = ours_episode_fn(backend, toolbox, args.steps)

    levels = []
    try:
        for c in args.concurrency:
            n = args.episodes_per_level or max(c, args.min_episodes)
            level = Level(c, n, loadavg())
            # Warm-up: opens the connections and fills caches; not counted.
            for _ in range(args.warmup):
                for side, ep in sides.items():
                    await run_episodes(ep, c, min(c, n))
            for r in range(args.repeats):
                order = list(sides.items())
                if r % 2:  # alternate who goes first, so drift hits both sides alike
                    order.reverse()
                for side, ep in order:
                    s = await measure(side, ep, c, n, server)
                    level.samples.append(s)
                    if args.verbose:
                        print(f"  c={c:<4} {side:<8} wall {s.wall_ms_per_step:7.3f} ms/step  "
                              f"cpu {s.cpu_ms_per_step:7.3f} ms/step  {s.steps_per_s:8.0f} steps/s  "
                              f"{s.new_connections} new connections", file=sys.stderr)
            level.load_after = loadavg()
            levels.append(level)
    finally:
        await base_client.close()
        await backend.aclose()
    return levels


# ---------------------------------------------------------------- reporting


def print_table(levels: list[Level], args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"agent overhead per step: {args.steps} steps/episode, median of {args.repeats} interleaved runs")
    cols = ["conc.", "episodes", "load 1m\n(before→after)",
            "base wall\nms/step", "ours wall\nms/step", "Δ wall\nms/step", "wall\nratio",
            "base CPU\nms/step", "ours CPU\nms/step", "Δ CPU\nms/step", "CPU\nratio",
            "steps/s\nbase / ours", "server CPU\nms/step", "new conns\nbase / ours"]
    for c in cols:
        table.add_column(c, justify="right")
    f3 = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for lv in levels:
        s = lv.summary()
        b, o = s.get("baseline", {}), s.get("ours", {})
        row = [str(lv.concurrency), str(lv.episodes), f"{lv.load_before[0]:.2f}→{lv.load_after[0]:.2f}",
               f3(b.get("wall_ms_per_step")), f3(o.get("wall_ms_per_step"))]
        if "wall_ratio" in s:
            pw, pc = s["wall_overhead_paired_ms"], s["cpu_overhead_paired_ms"]
            row += [f"{s['wall_overhead_ms_per_step']:.3f}\n[{pw['min']:.3f}‥{pw['max']:.3f}]", f"{s['wall_ratio']:.2f}×"]
        else:
            row += ["-", "-"]
        row += [f3(b.get("cpu_ms_per_step")), f3(o.get("cpu_ms_per_step"))]
        if "cpu_ratio" in s:
            row += [f"{s['cpu_overhead_ms_per_step']:.3f}\n[{pc['min']:.3f}‥{pc['max']:.3f}]", f"{s['cpu_ratio']:.2f}×"]
        else:
            row += ["-", "-"]
        sps = lambda d: "-" if not d else f"{d['steps_per_s']:.0f}"  # noqa: E731
        srv = " / ".join(f3(d.get("server_cpu_ms_per_step")) for d in (b, o) if d)
        conns = " / ".join(str(max(d["new_connections"])) for d in (b, o) if d)
        row += [f"{sps(b)} / {sps(o)}", srv, conns]
        table.add_row(*row)
    console = Console(width=200)
    console.print(table)
    console.print("Δ = ours − baseline (medians); \\[min‥max] of the paired per-repeat differences. "
                  "CPU = client process time (all threads) / steps; server CPU = the server process's; "
                  "new conns = most connections the server saw opened during one measurement. Target: Δ ≤ 1 ms/step at 512.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 512], help="episodes in flight")
    p.add_argument("--steps", type=int, default=10, help="model calls per episode (k)")
    p.add_argument("--episodes-per-level", type=int, default=None,
                   help="episodes per measurement (default: max(concurrency, --min-episodes))")
    p.add_argument("--min-episodes", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3, help="interleaved measurements per side and level")
    p.add_argument("--warmup", type=int, default=1, help="uncounted rounds of `concurrency` episodes per side and level")
    p.add_argument("--pool", type=int, default=None, help="HTTP connections per client (default: max concurrency)")
    p.add_argument("--transport", choices=["httpx", "aiohttp"], default="httpx",
                   help="the openai client's HTTP transport, the same for both sides")
    p.add_argument("--default-pool", action="store_true", help="keep openai's default pool limits on both sides")
    p.add_argument("--tool", choices=["sync", "async"], default="sync",
                   help="a plain `def add` (run in a thread by Tool.run) or an `async def add`")
    p.add_argument("--only", choices=["both", "baseline", "ours"], default="both", help="e.g. for profiling one side")
    p.add_argument("--json", type=Path, default=None, help="also write the raw samples and the summary here")
    p.add_argument("-v", "--verbose", action="store_true", help="print every measurement")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or min(args.concurrency) < 1:
        p.error("--steps, --repeats and --concurrency must be positive")

    server = Server(args.steps)
    try:
        levels = asyncio.run(bench(args, server))
    finally:
        server.close()

    print_table(levels, args)
    if args.json:
        meta = {
            "argv": sys.argv, "python": sys.version, "platform": platform.platform(), "cpus": os.cpu_count(),
            "openai": openai.__version__, "httpx": httpx.__version__, "event_loop": "asyncio (default)",
            "server": "bench/zero_latency_server.py (aiohttp, separate process)", "tool": args.tool, "transport": args.transport,
            "pool": "openai default" if args.default_pool else (args.pool or max(args.concurrency)),
        }
        out = {"meta": meta, "levels": [
            {"summary": lv.summary(), "samples": [asdict(s) for s in lv.samples]} for lv in levels
        ]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
