"""Per-step CPU cost of the pieces of one agent step, without a profiler's distortion.

    python bench/agent_overhead_parts.py [--messages 20] [--calls 300]

Companion to bench/agent_overhead.py: where that one measures the whole step,
this one times the pieces one at a time (best of 5 rounds, process CPU time),
for a conversation of --messages messages (10 steps of an episode end at 20):

* the openai client: `chat.completions.create` (params transform, pydantic
  response model) vs. the same request through the low-level
  `client.post("/chat/completions", body=..., cast_to=dict)` (neither), against
  the zero-latency server at concurrency 1;
* agentforge's own work per step: building the request, converting the
  response, the assistant message, one tool call (sync tool: thread hop; async
  tool: none), the Step/Sampling bookkeeping.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import agent_overhead as ao  # noqa: E402
from agentforge.runtime.backends.openai_backend import as_dict, completions_from_response, request_kwargs  # noqa: E402
from agentforge.runtime.messages import Message, Sampling, ToolCall  # noqa: E402
from agentforge.runtime.trajectory import Step  # noqa: E402


def conversation(n: int) -> list[Message]:
    msgs = [Message.system(ao.SYSTEM), Message.user(ao.QUESTION)]
    i = 0
    while len(msgs) < n:
        call = ToolCall(id=f"call_{i}", function={"name": "add", "arguments": '{"a": 1, "b": 2}'})
        msgs += [Message(role="assistant", tool_calls=[call]), Message.tool("3", f"call_{i}", "add")]
        i += 1
    return msgs[:n]


async def best_ms(fn, calls: int, rounds: int = 5) -> float:
    """Best-of-rounds CPU ms per call of the coroutine function fn."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(calls):
            await fn()
        best = min(best, (time.process_time() - t) / calls * 1000)
    return best


async def main(args: argparse.Namespace) -> None:
    server = ao.Server(10**6)  # never reaches the final answer: every turn is a tool call
    try:
        toolbox = ao.Toolbox([ao.Tool(ao.add, name="add")])
        async_box = ao.Toolbox([ao.Tool(ao.add_async, name="add")])
        specs = toolbox.specs()
        msgs = conversation(args.messages)
        sampling = Sampling()
        client = ao.openai.AsyncOpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0,
                                       http_client=ao.http_client(4, "httpx"))
        kw = request_kwargs(msgs, specs, 1, sampling)
        # the server expects the tool results of the turns so far, so keep the wire messages as they are
        resp = await client.chat.completions.create(model=ao.MODEL, **kw)
        call = completions_from_response(as_dict(resp), ao.MODEL)[0].tool_calls[0]
        rows: list[tuple[str, float]] = []

        async def create():
            await client.chat.completions.create(model=ao.MODEL, **kw)

        async def post():
            await client.post("/chat/completions", body={"model": ao.MODEL, **kw}, cast_to=dict)

        rows.append(("openai: chat.completions.create (1 request, conc. 1)", await best_ms(create, args.calls)))
        rows.append(("openai: client.post(..., cast_to=dict) (same request)", await best_ms(post, args.calls)))

        async def build():
            request_kwargs(msgs, specs, 1, sampling.merged(max_tokens=sampling.max_tokens))

        async def convert():
            completions_from_response(as_dict(resp), ao.MODEL)[0].message()

        async def convert_dict_only():
            completions_from_response(data, ao.MODEL)[0].message()

        data = as_dict(resp)

        async def tool_sync():
            await toolbox.call(call)

        async def tool_async():
            await async_box.call(call)

        completion = completions_from_response(data, ao.MODEL)[0]

        async def bookkeeping():
            Step(completion=completion, model_seconds=0.0)
            toolbox.specs()

        n = args.calls * 10
        rows += [
            (f"agentforge: request_kwargs + Sampling.merged ({args.messages} messages)", await best_ms(build, n)),
            ("agentforge: as_dict(ChatCompletion) + completions_from_response + .message()", await best_ms(convert, n)),
            ("agentforge:   of which completions_from_response + .message() on a dict", await best_ms(convert_dict_only, n)),
            ("agentforge: Toolbox.call, sync tool (asyncio.to_thread)", await best_ms(tool_sync, n)),
            ("agentforge: Toolbox.call, async tool", await best_ms(tool_async, n)),
            ("agentforge: Step(...) + Toolbox.specs()", await best_ms(bookkeeping, n)),
        ]
        await client.close()
        width = max(len(r[0]) for r in rows)
        print(f"CPU ms per call, best of 5 rounds (load {ao.loadavg()[0]:.2f})")
        for name, ms in rows:
            print(f"  {name:<{width}}  {ms:8.4f}")
    finally:
        server.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=20)
    p.add_argument("--calls", type=int, default=300)
    asyncio.run(main(p.parse_args()))
