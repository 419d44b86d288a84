"""cProfile one side of bench/agent_overhead.py and show where the client's time goes.

    python bench/profile_agent_overhead.py [--side ours|baseline] [--concurrency 64] [--steps 10]
                                           [--episodes 128] [--tool sync|async] [--transport httpx|aiohttp] [--top 40] [--out PROF]

Prints the functions sorted by own time, then the cumulative time of the
agentforge entry points, so the agent runtime's share can be read off
against the openai client's. cProfile inflates the cost of many small calls;
read the shares, not the absolute times (bench/agent_overhead.py gives those).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import agent_overhead as ao  # noqa: E402


async def run(args: argparse.Namespace) -> cProfile.Profile:
    server = ao.Server(args.steps)
    try:
        fn = ao.add_async if args.tool == "async" else ao.add
        toolbox = ao.Toolbox([ao.Tool(fn, name="add")])
        pool = args.concurrency
        if args.side == "baseline":
            client = ao.openai.AsyncOpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0,
                                           http_client=ao.http_client(pool, args.transport))
            options = ao.request_options(ao.Sampling(), [t.model_dump() for t in toolbox.specs()])
            episode = ao.baseline_episode_fn(client, args.steps, options)
            close = client.close
        else:
            backend = ao.OpenAIBackend(ao.MODEL, base_url=server.base_url, api_key="EMPTY",
                                       http_client=ao.http_client(pool, args.transport))
            episode = ao.ours_episode_fn(backend, toolbox, args.steps)
            close = backend.aclose
        await ao.run_episodes(episode, args.concurrency, args.concurrency)  # warm-up
        prof = cProfile.Profile()
        cpu0 = time.process_time()
        prof.enable()
        steps = await ao.run_episodes(episode, args.concurrency, args.episodes)
        prof.disable()
        print(f"{args.side}: {steps} steps, {1000 * (time.process_time() - cpu0) / steps:.3f} ms CPU/step under cProfile")
        await close()
        return prof
    finally:
        server.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--side", choices=["ours", "baseline"], default="ours")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--episodes", type=int, default=128)
    p.add_argument("--tool", choices=["sync", "async"], default="sync")
    p.add_argument("--transport", choices=["httpx", "aiohttp"], default="httpx")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--out", type=Path, default=None, help="save the raw profile (for snakeviz etc.)")
    args = p.parse_args()
    prof = asyncio.run(run(args))
    if args.out:
        prof.dump_stats(str(args.out))
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(r"agentforge|agent_overhead", args.top)


if __name__ == "__main__":
    main()
