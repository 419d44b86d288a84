"""A zero-latency OpenAI-compatible chat server for overhead benchmarks.

POST /v1/chat/completions answers at once with a canned `chat.completion`.
The answer depends only on the request (stateless): with t tool messages in
`messages`, turns t < steps-1 get one tool call `add(a=1, b=2)` (id
`call_<t>`), turn steps-1 gets a final text answer. The request is checked
cheaply (the tool results must answer call_0..call_{t-1} in order, with "3"),
so a client that drops or garbles a tool result gets a 400 and the benchmark
fails loudly instead of measuring something else.

Run it in its own process, so its CPU time is not charged to the client:

    python bench/zero_latency_server.py --steps 10 [--port 0]

It prints `PORT <n>` on stdout once it listens, then serves until killed.
GET /stats tells how many chat requests it served and on how many distinct
connections (a client that keeps reconnecting shows up there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import weakref

from aiohttp import web

MODEL = "zero-latency"


def _response(turn: int, steps: int) -> bytes:
    if turn < steps - 1:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{turn}",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": "The answer is 3."}
        finish = "stop"
    body = {
        "id": f"chatcmpl-zl{turn}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 10 + 5 * turn, "completion_tokens": 5, "total_tokens": 15 + 5 * turn},
    }
    return json.dumps(body).encode()


def _error(msg: str, status: int = 400) -> web.Response:
    body = json.dumps({"error": {"message": msg, "type": "invalid_request_error"}})
    return web.Response(status=status, body=body.encode(), content_type="application/json")


def make_app(steps: int) -> web.Application:
    canned = [_response(t, steps) for t in range(steps)]
    seen: weakref.WeakSet = weakref.WeakSet()  # the connections (transports) requests came in on
    stats = {"requests": 0, "connections": 0}

    async def chat(request: web.Request) -> web.Response:
        stats["requests"] += 1
        if request.transport is not None and request.transport not in seen:
            seen.add(request.transport)
            stats["connections"] += 1
        try:
            req = json.loads(await request.read())
            messages = req["messages"]
        except (ValueError, KeyError, TypeError):
            return _error("the body is not a chat completion request")
        tool_ids = [m.get("tool_call_id") for m in messages if m.get("role") == "tool"]
        turn = len(tool_ids)
        if turn >= steps:
            return _error(f"episode already has {turn} tool results; only {steps} steps are served")
        if tool_ids != [f"call_{i}" for i in range(turn)]:
            return _error(f"tool results answer the wrong calls: {tool_ids}")
        if turn and (messages[-1].get("role") != "tool" or messages[-1].get("content") != "3"):
            return _error(f"the last message should be the tool result '3', got {messages[-1]!r}")
        return web.Response(body=canned[turn], content_type="application/json")

    async def get_stats(request: web.Request) -> web.Response:
        """Chat requests served and connections they came in on, so far (for spotting reconnects)."""
        return web.json_response(stats)

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", get_stats)
    return app


async def serve(host: str, port: int, steps: int) -> None:
    runner = web.AppRunner(make_app(steps), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (printed as 'PORT <n>')")
    p.add_argument("--steps", type=int, default=10, help="model calls per episode (the last one answers)")
    args = p.parse_args(argv)
    if args.steps < 1:
        sys.exit("--steps must be at least 1")
    asyncio.run(serve(args.host, args.port, args.steps))


if __name__ == "__main__":
    main()
