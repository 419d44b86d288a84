"""Side-by-side markdown table of several BFCL runs' summaries.

    python bench/bfcl_compare_runs.py runs/bfcl-baseline/*  [--row non_live] [--selectors vote confidence]

One line per run: the row's pass@1, selected@N for each selector, pass@N,
plus the format-failure rate (candidates whose output did not decode).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_SELECTORS = ["first", "vote", "avg_logprob", "confidence", "weighted_vote_top10"]


def decode_failures(run: Path) -> float:
    lines = [json.loads(line) for line in (run / "journal.jsonl").read_text().splitlines() if line.endswith("}")]
    return sum(1 for r in lines if r.get("decode_error")) / max(len(lines), 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--row", default=None, help="aggregate row (default: overall if present, else the first)")
    p.add_argument("--selectors", nargs="+", default=DEFAULT_SELECTORS)
    args = p.parse_args()
    head = ["run", "pass@1", *[f"{s}@N" for s in args.selectors], "pass@N", "undecodable"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for run in args.runs:
        summary = json.loads((run / "summary.json").read_text())
        rows = summary["aggregate"]
        name = args.row or ("overall" if "overall" in rows else next(iter(rows)))
        row, n = rows[name], str(summary["n"])
        cells = [f"{run.name} ({name})", f"{100 * row['pass@1']:.1f}",
                 *[f"{100 * row['selected@k'][s][n]:.1f}" for s in args.selectors],
                 f"{100 * row['pass@N']:.1f}", f"{100 * decode_failures(run):.0f}%"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
