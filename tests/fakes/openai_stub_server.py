"""A tiny OpenAI-compatible HTTP server: a test double for vLLM.

vLLM cannot run in unit tests (not installed, needs a model and minutes to
start), so the `VLLMBackend` lifecycle tests launch this script in its place:

    python openai_stub_server.py --port 8123 --model stub [--loading-seconds 1]

It answers GET /health (503 while "loading"), GET /v1/models and
POST /v1/chat/completions (echoing the last user message, streamed
when asked). It uses aiohttp
only, so it starts in well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web


def make_app(model: str, loading_seconds: float, delay: float = 0.0) -> web.Application:
    ready_at = time.monotonic() + loading_seconds

    async def health(request: web.Request) -> web.Response:
        return web.Response(status=200 if time.monotonic() >= ready_at else 503)

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": model, "object": "model"}]})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if delay:
            await asyncio.sleep(delay)
        last = next((m.get("content") for m in reversed(body["messages"]) if m["role"] == "user"), "")
        n, text = body.get("n", 1), f"stub says: {last}"
        head = {"id": "chatcmpl-stub", "created": int(time.time()), "model": body["model"]}
        usage = {"prompt_tokens": 3, "completion_tokens": 3 * n, "total_tokens": 3 + 3 * n}
        if not body.get("stream"):
            return web.json_response({**head, "object": "chat.completion", "usage": usage, "choices": [
                {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                 "logprobs": None} for i in range(n)]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(n):
            for delta, finish in (({"role": "assistant", "content": text}, None), ({}, "stop")):
                chunk = {**head, "object": "chat.completion.chunk",
                         "choices": [{"index": i, "delta": delta, "finish_reason": finish}]}
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await resp.write(f"data: {json.dumps({**head, 'choices': [], 'usage': usage})}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--model", default="stub")
    p.add_argument("--loading-seconds", type=float, default=0.0)
    p.add_argument("--delay", type=float, default=0.0, help="seconds before each chat answer")
    args = p.parse_args()
    print(f"stub server for {args.model} on {args.host}:{args.port}", flush=True)
    web.run_app(make_app(args.model, args.loading_seconds, args.delay), host=args.host, port=args.port,
                print=None, handle_signals=True)


if __name__ == "__main__":
    main()
