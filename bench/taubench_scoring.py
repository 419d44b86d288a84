"""τ-bench: simulation wall time, scoring time against `tau2 evaluate-trajs`, and official agreement.

For a finished `agent bench taubench` run directory:
- wall time per simulation (from the journal: the orchestrator's run, models included);
- per-task scoring time: ours (the harness grades in-process with tau2's evaluator, timed here again on
  every saved simulation) against the official CLI `tau2 evaluate-trajs` on the run's Results files, in
  the package's own venv, started as a user would (its start-up included, then also reported without);
- agreement: the official CLI's reward against ours, simulation by simulation.

    python bench/taubench_scoring.py runs/taubench-gold [runs/taubench-nothing ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def our_grading(run_dir: Path) -> tuple[float, int, dict]:
    from agentforge.harnesses.taubench import package
    from agentforge.harnesses.taubench.official import grade

    package.load_tau2()
    from tau2.data_model.simulation import SimulationRun

    journal = [json.loads(x) for x in (run_dir / "journal.jsonl").read_text().splitlines() if x.strip()]
    ok = [r for r in journal if r["status"] == "ok"]
    tasks = {}
    for r in ok:
        domain = r["category"]
        if domain not in tasks:
            tasks[domain] = {t.id: t for t in package.load_domain_tasks(domain)}
    started = time.perf_counter()
    for r in ok:
        run = SimulationRun.model_validate_json((run_dir / r["trajectory"]).read_text())
        grade(r["category"], tasks[r["category"]][run.task_id], run)
    ours = {(r["category"], r["task_id"].split("/", 1)[1], r["sample"]): r["detail"]["reward"] for r in ok}
    return time.perf_counter() - started, len(ok), ours | {"_sim_seconds": [r["detail"]["simulation_seconds"]
                                                                          for r in ok]}


def official_grading(run_dir: Path) -> tuple[float, float, dict]:
    from agentforge.harnesses.taubench.official_venv import official_cli, regrade

    cli = official_cli()
    started = time.perf_counter()
    subprocess.run([str(cli), "--help"], capture_output=True)  # the CLI's start-up alone (imports litellm)
    startup = time.perf_counter() - started
    rewards = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for results in sorted((run_dir / "results").glob("*.json")):
            out = Path(tmp) / results.stem
            out.mkdir()
            rewards |= {(results.stem, *k): v for k, v in regrade(results, out).items()}
    return time.perf_counter() - started, startup, rewards


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path)
    args = parser.parse_args()
    total_same = total = 0
    print(f"{'run':<28} {'sims':>5} {'sim s (median)':>15} {'ours s/task':>12} {'official s/task':>16} "
          f"{'(no start-up)':>14} {'ratio':>6} {'agree':>9}")
    for run_dir in args.run_dirs:
        ours_s, n, ours = our_grading(run_dir)
        sim_seconds = ours.pop("_sim_seconds")
        official_s, startup, official = official_grading(run_dir)
        files = len(list((run_dir / "results").glob("*.json")))
        same = sum(official.get(k) == v for k, v in ours.items())
        total_same += same
        total += len(ours)
        per_ours, per_official = ours_s / n, official_s / n
        per_bare = (official_s - files * startup) / n
        print(f"{run_dir.name:<28} {n:>5} {statistics.median(sim_seconds):>15.2f} {per_ours:>12.3f} "
              f"{per_official:>16.3f} {per_bare:>14.3f} {per_official / per_ours:>5.2f}x {same:>4}/{len(ours):<4}")
    print(f"official agreement: {total_same}/{total} simulations with identical rewards")
    return 0 if total_same == total else 1


if __name__ == "__main__":
    sys.exit(main())
