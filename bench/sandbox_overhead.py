"""Per-command cost of each sandbox, side by side with a plain subprocess.

    python bench/sandbox_overhead.py [--runs 30]

Runs `true` (pure overhead) and a small Python command in a plain
`bash -c` subprocess (the baseline), then in local, bwrap and docker; prints
mean / p50 / p90 milliseconds and the ratio to the baseline. Rounds
interleave the backends so a busy machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentforge.runtime.sandbox import Limits, SandboxSpec, available_kinds, make_sandbox

# Debian's interpreter by absolute path: the host, bwrap and the docker image all have it, and
# `python3` on the host's PATH may be a slow pyenv shim.
COMMANDS = {"true": "true", "python": "/usr/bin/python3 -c 'import json; print(json.dumps([1, 2]))'"}


async def plain(command: str) -> None:
    proc = await asyncio.create_subprocess_exec("bash", "-c", command, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    await proc.communicate()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    kinds = ["local", *available_kinds()]
    with tempfile.TemporaryDirectory() as tmp:
        boxes = {k: make_sandbox(k, SandboxSpec(workspace=Path(tmp), limits=Limits(timeout=30))) for k in kinds}
        for box in boxes.values():
            await box.start()
        try:
            await measure(boxes, kinds, args.runs)
        finally:
            for box in reversed(boxes.values()):  # they share one workspace: the first holds its disk
                await box.stop()


async def measure(boxes: dict, kinds: list[str], runs: int) -> None:
    table = Table("command", "backend", "mean ms", "p50 ms", "p90 ms", "× plain subprocess")
    for name, command in COMMANDS.items():
        times: dict[str, list[float]] = {k: [] for k in ["plain", *kinds]}
        for _ in range(runs):
            for k in times:
                started = time.perf_counter()
                if k == "plain":
                    await plain(command)
                else:
                    result = await boxes[k].exec(command)
                    assert result.returncode == 0, result.output
                times[k].append((time.perf_counter() - started) * 1000)
        base = statistics.median(times["plain"])
        for k, ts in times.items():
            ts.sort()
            table.add_row(name, k, f"{statistics.mean(ts):.1f}", f"{statistics.median(ts):.1f}",
                          f"{ts[int(0.9 * (len(ts) - 1))]:.1f}", f"{statistics.median(ts) / base:.1f}")
    Console().print(table)


if __name__ == "__main__":
    asyncio.run(main())
