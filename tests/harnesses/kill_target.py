"""A real runner process for the kill-and-resume test (run as a script).

Each sample's result is a pure function of (task, sample), so after any number
of kills the final journal must hold exactly the expected records.
"""

import asyncio
import random
import sys

from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.harnesses.runner import RunOptions, Task, run_tasks

TASKS, N = 60, 3


def expected(task_id: str, sample: int) -> bool:
    return (int(task_id.split("-")[1]) + sample) % 3 == 0


async def attempt(task: Task, samples: list[int]) -> list[SampleResult]:
    await asyncio.sleep(random.uniform(0.01, 0.05))
    return [SampleResult(task_id=task.id, sample=s, category=task.category, correct=expected(task.id, s),
                         answer=f"{task.id}/{s}", token_logprobs=[-0.5] * 50) for s in samples]


if __name__ == "__main__":
    tasks = [Task(id=f"t-{i}", category=f"c{i % 2}") for i in range(TASKS)]
    asyncio.run(run_tasks(tasks, attempt, Journal(sys.argv[1]), RunOptions(n=N, concurrency=4, progress=False)))
