"""Run directories of scripted τ-bench runs, for bench/taubench_scoring.py: every base task of a domain
with the gold actions, or with a do-nothing agent that only apologizes.

The agent and user are the test doubles of tests/harnesses/taubench/scripted.py (no model replays gold
actions); everything else is the harness with the official orchestrator, environment and evaluator.

    python bench/taubench_scripted_runs.py gold retail runs/tau-gold-retail
    python bench/taubench_scripted_runs.py nothing telecom runs/tau-nothing-telecom
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' doubles

from agentforge.harnesses.run import run_harness  # noqa: E402
from agentforge.harnesses.taubench import package  # noqa: E402
from agentforge.harnesses.taubench.bench import TauConfig, TauHarness  # noqa: E402
from tests.harnesses.taubench.scripted import (apologizing_agent, gold_agent, gold_pair,  # noqa: E402
                                               scripted_user)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["gold", "nothing"])
    parser.add_argument("domain", choices=package.DOMAINS)
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    tasks = package.load_domain_tasks(args.domain)
    if args.domain == "telecom":  # the user acts on its phone in the gold order; tasks share scenarios
        agent, user = gold_pair(tasks)
        agent, concurrency = (agent if args.kind == "gold" else apologizing_agent()), 1
    else:
        agent = gold_agent(tasks) if args.kind == "gold" else apologizing_agent()
        user, concurrency = scripted_user(tasks), 2
    config = TauConfig(domains=[args.domain], model=f"scripted-{args.kind}", user_model="scripted-user",
                       concurrency=concurrency)
    started = time.perf_counter()
    _, summary = asyncio.run(run_harness(TauHarness(user=user), config, args.run_dir, backend=agent))
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1), "avg_reward": summary["avg_reward"],
                      "simulations": summary["simulations"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
