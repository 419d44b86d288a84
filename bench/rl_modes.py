"""Updates per hour, disaggregated vs colocated, side by side on this machine.

    python bench/rl_modes.py -m runs/sft-stage3/run/final --updates 6 --out runs/rl/modes

Runs `agent train rl` twice with the same settings (batch, group size,
staleness <= 1, tasks) but --mode, and times updates 1..K from each run's
metrics (the first validation, before update 1, is left out: the
disaggregated rollout process is already generating during it, so the clock
starts at update 1 for both). Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def rate(run: Path) -> tuple[float, int]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    times = [r["time"] for r in rows if "reward" in r]
    return (len(times) - 1) / (times[-1] - times[0]) * 3600, len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--updates", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--order", default="colocated,disaggregated")
    args, rest = parser.parse_known_args()
    common = ["--updates", str(args.updates), "-G", "8", "--groups-per-update", "2", "--lr", "1e-5",
              "--max-tokens", "160", "--max-calls", "6", "--episodes", "300", "--episode-share", "0.25",
              "--valid-episodes", "1", "--valid-steps", "1", "--valid-every", "1000", "--save-every", "1000",
              "--concurrency", "4", "--oversample", "8", "--max-staleness", "1", *rest]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    rates = {}
    for mode in args.order.split(","):
        run = args.out / mode
        if not (run / "final").exists():
            subprocess.run([sys.executable, "-m", "agentforge", "train", "rl", "-m", args.model, "-o", str(run),
                            "--mode", mode, *common], check=True, env=env)
        rates[mode], n = rate(run)
        print(f"{mode}: {rates[mode]:.1f} updates/hour over updates 1..{n}", flush=True)
    print(f"disaggregated / colocated: {rates['disaggregated'] / rates['colocated']:.2f}x")


if __name__ == "__main__":
    main()
