"""What a synthesis run cost and yielded, from its journal and stats.json.

    python bench/swe_synth_report.py /var/tmp/agentforge-swe-synth [--json PATH]

Per package: instances kept / mutations tried, why the others were rejected,
environment build, baseline run and per-mutation timings (full-suite run, and
the gold + empty-patch grading of each candidate), seconds per kept instance.
Per mutation kind: how often a try became an instance. To re-grade the output
with the harness (gold must resolve 100%, empty 0%):

    python bench/swebench_gold_empty.py --instances OUT/instances.jsonl --repos OUT/repos --sandbox bwrap
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agentforge.training.synth.swe.journal import ERROR, KEPT, REJECTED, SURPLUS, SynthJournal


def summarize(out: Path) -> dict:
    records = SynthJournal(out / "journal.jsonl").load()
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else {"packages": []}
    packages: dict[str, dict] = {p["package"]: dict(p) for p in stats["packages"]}
    by_package: dict[str, list[dict]] = defaultdict(list)
    for record in records.values():
        by_package[record["package"]].append(record)
    kinds: dict[str, Counter] = defaultdict(Counter)
    rows = []
    for name, recs in by_package.items():
        status = Counter(r["status"] for r in recs)
        runs = [r["seconds"]["run"] for r in recs if "run" in r.get("seconds", {})]
        grades = [r["seconds"]["validate"] for r in recs if "validate" in r.get("seconds", {})]
        seconds = packages.get(name, {}).get("seconds", {})
        spent = sum(runs) + sum(grades)
        rows.append({
            "package": name, "kept": status[KEPT], "tried": len(recs), "surplus": status[SURPLUS],
            "errors": status[ERROR],
            "rejected": dict(Counter(r["reason"] for r in recs if r["status"] == REJECTED)),
            "env_s": seconds.get("env"),
            "baseline_s": [v for k, v in sorted(seconds.items()) if k.startswith("baseline")],
            "run_s_mean": round(statistics.mean(runs), 2) if runs else None,
            "run_s_max": round(max(runs), 2) if runs else None,
            "grade_s_mean": round(statistics.mean(grades), 2) if grades else None,
            "test_seconds_per_kept": round(spent / status[KEPT], 1) if status[KEPT] else None,
            "baseline_tests": packages.get(name, {}).get("baseline_tests"),
        })
        for r in recs:
            kinds[r["site"]["kind"]][r["status"] if r["status"] != REJECTED else f"rejected:{r['reason']}"] += 1
    instances = out / "instances.jsonl"
    return {"packages": rows, "kinds": {k: dict(v) for k, v in sorted(kinds.items())},
            "instances": sum(1 for _ in instances.open()) if instances.exists() else 0,
            "wall_s": stats.get("seconds")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    summary = summarize(args.out)
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table("package", "tests", "kept/tried", "surplus", "rejected", "env s", "baseline s",
                  "run s mean (max)", "grade s mean", "test s per kept")
    for r in summary["packages"]:
        table.add_row(r["package"], str(r["baseline_tests"]), f"{r['kept']}/{r['tried']}", str(r["surplus"]),
                      ", ".join(f"{k} {v}" for k, v in sorted(r["rejected"].items())) or "-",
                      f"{r['env_s']:.1f}" if r["env_s"] is not None else "-",
                      " / ".join(f"{s:.1f}" for s in r["baseline_s"]) or "-",
                      f"{r['run_s_mean']} ({r['run_s_max']})", str(r["grade_s_mean"]), str(r["test_seconds_per_kept"]))
    console.print(table)
    kinds = Table("kind", "kept", "surplus", "tried", "usable rate", "rejections")
    for kind, counts in summary["kinds"].items():
        tried = sum(counts.values()) - counts.get(ERROR, 0)
        usable = counts.get(KEPT, 0) + counts.get(SURPLUS, 0)
        rejections = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(counts.items())
                               if k.startswith("rejected:"))
        kinds.add_row(kind, str(counts.get(KEPT, 0)), str(counts.get(SURPLUS, 0)), str(tried),
                      f"{usable / tried:.0%}" if tried else "-", rejections or "-")
    console.print(kinds)
    console.print(f"{summary['instances']} instances; wall {summary['wall_s']} s")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
