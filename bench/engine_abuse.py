"""The embedded engine under abuse: one long prompt, a short request during
its prefill, and a prompt longer than the context. Reports, in one process:

- the KV cache's allocated bytes and the process RSS before, after the long
  request finished, and at the peak;
- the short request's latency while the long prompt prefills (and alone);
- what an over-long prompt gets, and how fast.

    python bench/engine_abuse.py --long-tokens 8000 --json out.json

Runs on whatever `agentforge` is importable (PYTHONPATH=src for a checkout),
so the same command measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time


def rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def kv_gb(engine) -> float:
    if hasattr(engine, "kv_bytes"):
        return engine.kv_bytes() / 1e9
    return sum(t.numel() * t.element_size() for t in engine.cache.k + engine.cache.v) / 1e9  # before: one shared cache


async def main(args) -> dict:
    from agentforge.runtime.backends.embedded import EmbeddedBackend
    from agentforge.runtime.messages import Message, Sampling

    backend = EmbeddedBackend.load(int8=args.int8)
    engine = backend.engine
    short = [Message.user("Name a color.")]
    greedy = Sampling(temperature=0, max_tokens=args.short_tokens)
    await backend.complete(short, sampling=greedy)  # warm-up
    started = time.monotonic()
    await backend.complete(short, sampling=greedy)
    alone = time.monotonic() - started
    out = {"load_1min": os.getloadavg()[0], "short_alone_s": round(alone, 2),
           "kv_gb_before": round(kv_gb(engine), 3), "rss_gb_before": round(rss_gb(), 3)}

    peak = {"kv": 0.0, "rss": 0.0}
    stop = threading.Event()

    def watch():
        while not stop.wait(0.2):
            peak["kv"], peak["rss"] = max(peak["kv"], kv_gb(engine)), max(peak["rss"], rss_gb())

    threading.Thread(target=watch, daemon=True).start()
    words = "the quick brown fox jumps over the lazy dog " * (args.long_tokens // 9)
    long_msgs = [Message.user(words)]
    out["long_prompt_tokens"] = len(backend.prompt_ids(long_msgs, None))
    long_task = asyncio.create_task(backend.complete(long_msgs, sampling=Sampling(temperature=0, max_tokens=4)))
    await asyncio.sleep(args.delay)
    started = time.monotonic()
    await backend.complete(short, sampling=greedy)
    out["short_during_long_prefill_s"] = round(time.monotonic() - started, 2)
    await long_task
    out["long_total_s"] = round(time.monotonic() - started + args.delay, 1)
    stop.set()
    out["kv_gb_peak"], out["rss_gb_peak"] = round(peak["kv"], 3), round(peak["rss"], 3)
    out["kv_gb_after"], out["rss_gb_after"] = round(kv_gb(engine), 3), round(rss_gb(), 3)

    too_long = [Message.user("word " * (engine.model.cfg.max_positions + 500))]
    started = time.monotonic()
    try:
        await backend.complete(too_long, sampling=greedy)
        out["over_long_prompt"] = "accepted"
    except Exception as e:  # report whatever it is: that is the measurement
        out["over_long_prompt"] = f"{type(e).__name__}: {e}"
    out["over_long_s"] = round(time.monotonic() - started, 2)
    out["load_1min_end"] = os.getloadavg()[0]
    await backend.aclose()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long-tokens", type=int, default=8000)
    parser.add_argument("--short-tokens", type=int, default=8, help="max_tokens of the short request")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds into the long prefill the short request arrives")
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
