"""What running BFCL multi-turn tools in a worker process costs, side by side.

Replays the ground-truth calls of the first K entries of each multi-turn
category twice: in-process as before (`asyncio.to_thread`, here one call per step), and
through `EnvWorker` (one child process per episode, one pipe round trip per
call). Both must give the same results; the script asserts it. Reports the
wall time per call of each, and the worker's start (paid once per episode,
on its first call).

    python bench/bfcl_env_worker.py --entries 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from agentforge.harnesses.bfcl.data import GROUPS, load_answers, load_entries
from agentforge.harnesses.bfcl.env_worker import EnvWorker
from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
from agentforge.harnesses.bfcl.multi_turn_check import answer_calls


def answer_steps(entry: dict, answer: list[list[str]]) -> list[list[dict]]:
    """The answer's calls as one step per turn (turns without calls left out)."""
    env = MultiTurnEnv(entry)
    return [calls for calls in (answer_calls(env, sources) for sources in answer) if calls]


# Both sides are timed after their first call: it unpickles backends (both) and starts the child (worker).

async def in_process(entry: dict, steps: list[list[dict]]) -> tuple[list[str], float]:
    """As before: the step's calls in a thread (the GIL-holding call froze the event loop)."""
    env = MultiTurnEnv(entry)
    steps = [[c] for step in steps for c in step]  # one call per step, so both sides time the same calls
    results = await asyncio.to_thread(env.execute_step, steps[0])
    started = time.perf_counter()
    for calls in steps[1:]:
        results += await asyncio.to_thread(env.execute_step, calls)
    return results, time.perf_counter() - started


async def in_worker(entry: dict, steps: list[list[dict]]) -> tuple[list[str], float, float]:
    calls = [c for step in steps for c in step]
    async with EnvWorker(MultiTurnEnv(entry)) as worker:
        started = time.perf_counter()
        results = [(await worker.execute(calls[0]["name"], calls[0]["arguments"])).result]
        first = time.perf_counter() - started
        started = time.perf_counter()
        for call in calls[1:]:
            results.append((await worker.execute(call["name"], call["arguments"])).result)
        return results, first, time.perf_counter() - started


async def main(entries: int) -> None:
    per_call_before, per_call_after, firsts, calls_total = [], [], [], 0
    for category in GROUPS["multi_turn"]:
        answers = load_answers(category)
        for entry in load_entries(category)[:entries]:
            steps = answer_steps(entry, answers[entry["id"]])
            n = sum(len(s) for s in steps)
            if n < 2:
                continue
            before, seconds_before = await in_process(entry, steps)
            after, first, rest = await in_worker(entry, steps)
            assert before == after, f"{entry['id']}: results differ"
            per_call_before.append(seconds_before / (n - 1))
            per_call_after.append(rest / (n - 1))
            firsts.append(first - rest / (n - 1))
            calls_total += n
    print(f"{len(firsts)} episodes, {calls_total} calls, identical results")
    print(f"in-process (to_thread per call): {statistics.median(per_call_before) * 1e6:8.0f} µs per call (median over episodes)")
    print(f"worker process (pipe per call):  {statistics.median(per_call_after) * 1e6:8.0f} µs per call (median over episodes)")
    print(f"worker start, once per episode:  {statistics.median(firsts) * 1e3:8.0f} ms (median)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10, help="entries per multi-turn category")
    asyncio.run(main(parser.parse_args().entries))
