"""A real τ-bench run in its own process, for the kill-and-resume test (run as a script).

Scripted agent and user (test doubles: gold actions, then ###STOP###) on the first
retail tasks, two trials each, one simulation at a time so that a kill lands mid-run.
"""

import asyncio
import sys
import time
from pathlib import Path

from agentforge.harnesses.run import run_harness
from agentforge.harnesses.taubench import package
from agentforge.harnesses.taubench.bench import TauConfig, TauHarness

from tests.harnesses.taubench.scripted import gold_agent, scripted_user

TASKS, TRIALS = 5, 2


if __name__ == "__main__":
    tasks = package.load_domain_tasks("retail")[:TASKS]
    agent = gold_agent(tasks)
    slow = agent.reply
    agent.reply = lambda *a: (time.sleep(0.05), slow(*a))[1]  # give the kill time to land between calls
    config = TauConfig(model="gold", user_model="scripted-user", limit=TASKS, n=TRIALS, concurrency=1)
    asyncio.run(run_harness(TauHarness(user=scripted_user(tasks)), config, Path(sys.argv[1]), backend=agent,
                            progress=False))
