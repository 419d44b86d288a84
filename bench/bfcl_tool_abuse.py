"""A BFCL multi-turn episode whose model calls `power(base=7, exponent=30000000)`.

That call computes for 30+ s inside one bytecode. The script runs one episode
of multi_turn_base_15 (GorillaFileSystem + MathAPI) the way `agent bench bfcl`
does (episodes.multi_turn, then score_entry), with a scripted model that makes
that call first and then answers in words, while a coroutine ticks every 20 ms.
It prints when the tool result came back, the event loop's longest stall, and
how long scoring took. It uses only what the harness had before the tools ran
in a worker process, so the same command measures the old code:

    PYTHONPATH=src python bench/bfcl_tool_abuse.py
    PYTHONPATH=/path/to/old/src python bench/bfcl_tool_abuse.py
"""

from __future__ import annotations

import asyncio
import json
import time

from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.episodes import multi_turn
from agentforge.harnesses.bfcl.multi_turn import MultiTurnEnv
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.runtime.messages import Completion, FunctionCall, Sampling, ToolCall

ENTRY = "multi_turn_base_15"


class AbusiveModel:
    """Calls power(7, 30000000) once, then answers every turn in words."""

    def __init__(self):
        self.asked: list[float] = []

    async def complete(self, messages, tools=None, n=1, sampling=None):
        self.asked.append(time.monotonic())
        if len(self.asked) == 1:
            call = ToolCall(function=FunctionCall(name="power", arguments=json.dumps({"base": 7, "exponent": 30000000})))
            return [Completion(text="", tool_calls=[call])]
        return [Completion(text="Done.", content="Done.")]


async def main() -> None:
    entry = next(e for e in load_entries("multi_turn_base") if e["id"] == ENTRY)
    answer = load_answers("multi_turn_base")[ENTRY]
    ticks = [time.monotonic()]

    async def tick():
        while True:
            await asyncio.sleep(0.02)
            ticks.append(time.monotonic())

    ticker = asyncio.create_task(tick())
    model = AbusiveModel()
    episode = await multi_turn(model, entry, "multi_turn_base", "fc", Sampling(), MultiTurnEnv(entry))
    came_back = model.asked[1] - model.asked[0]
    stall = max(b - a for a, b in zip(ticks, ticks[1:] + [time.monotonic()]))
    started = time.monotonic()
    verdict = score_entry("multi_turn_base", entry, answer, episode.turns)
    scoring = time.monotonic() - started
    ticker.cancel()
    result = episode.trajectory.messages[2].content
    print(f"tool result after {came_back:.1f} s; longest event-loop stall {stall:.2f} s; scoring took {scoring:.1f} s")
    print(f"result: {result[:200]}")
    print(f"verdict: {verdict.error_type or 'valid'}")


if __name__ == "__main__":
    asyncio.run(main())
