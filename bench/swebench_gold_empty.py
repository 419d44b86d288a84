"""Check an instance set: gold patches must resolve 100%, empty patches 0%, in each sandbox.

    python bench/swebench_gold_empty.py --instances DIR/instances.jsonl --repos DIR/repos \
        --sandbox bwrap --sandbox docker [--out runs/swe-proof]

Prints resolved % per (sandbox, source) with timings: environment build (first
use, then cached), checkout, evaluation per instance (mean / p50 / max), wall
time of the whole run. Runs resume from their run directories.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentforge.harnesses.journal import Journal
from agentforge.harnesses.swebench.bench import SweConfig, run_swebench


def timings(run_dir: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"env": [], "checkout": [], "eval": []}
    for r in Journal(run_dir / "journal.jsonl").load().values():
        for key, value in (r.detail.get("seconds") or {}).items():
            out.setdefault(key, []).append(value)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", required=True)
    ap.add_argument("--repos", required=True)
    ap.add_argument("--sandbox", action="append", default=None)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--out", default="runs/swe-proof")
    args = ap.parse_args()
    console = Console()
    table = Table("sandbox", "source", "instances", "resolved", "errors", "env build s (max)", "eval s mean",
                  "eval s p50", "eval s max", "wall s")
    for kind in args.sandbox or ["bwrap"]:
        for source in ("gold", "empty"):
            run_dir = Path(args.out) / f"{kind}-{source}"
            started = time.monotonic()
            config = SweConfig(instances=args.instances, repos=args.repos, source=source, sandbox=kind,
                               concurrency=args.concurrency)
            stats, summary = await run_swebench(config, run_dir, console=console)
            wall = time.monotonic() - started
            t = timings(run_dir)
            evals = t["eval"] or [0.0]
            overall = summary["aggregate"]["overall"]
            table.add_row(kind, source, str(summary["tasks"]), f"{100 * overall['pass@1']:.1f}%", str(stats.errors),
                          f"{max(t['env'] or [0.0]):.1f}", f"{statistics.mean(evals):.2f}",
                          f"{statistics.median(evals):.2f}", f"{max(evals):.2f}", f"{wall:.0f}")
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
