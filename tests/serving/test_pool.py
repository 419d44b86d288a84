"""Replica pools: sticky sessions, bounded load, ejection, readmission, failover.

The replicas are real HTTP servers on 127.0.0.1 speaking the OpenAI protocol
(tests/fakes/openai_stub_server.py, which answers "stub says: <last user
message>"), reached through the real `OpenAIBackend`; each can be stopped,
restarted on its port, made to answer 503, or cut off mid-stream.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import openai
import pytest
from aiohttp import web

from agentforge.runtime.backends.base import BackendError, TransientBackendError
from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.messages import Message, Sampling
from agentforge.serving.pool import PoolPolicy, UpstreamPool, expand, group_specs, replica_kwargs, session_key
from agentforge.serving.server import make_app, start_server
from tests.fakes.openai_stub_server import make_app as stub_app


class Replica:
    """One stub upstream whose behaviour a test can change while it runs."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.mode, self.hits, self.port = delay, "ok", [], 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> "Replica":
        inner = stub_app("stub", 0.0, self.delay)

        @web.middleware
        async def behave(request: web.Request, handler):
            if request.path.endswith("/chat/completions"):
                body = await request.json()
                self.hits.append(body["messages"][-1]["content"])
                if self.mode == "503":
                    return web.json_response({"error": {"message": "overloaded"}}, status=503)
                if self.mode == "400":
                    return web.json_response({"error": {"message": "bad request"}}, status=400)
                if self.mode == "cut" and body.get("stream"):
                    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                    await resp.prepare(request)
                    chunk = {"id": "x", "model": "stub", "object": "chat.completion.chunk", "created": 0,
                             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "half an ans"},
                                          "finish_reason": None}]}
                    await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    request.transport.close()  # the replica dies mid-answer
                    return resp
            elif self.mode in ("503", "down-health"):
                return web.Response(status=503)
            return await handler(request)

        inner.middlewares.append(behave)
        self.runner, self.port = await start_server(inner, port=self.port)
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def backend(self) -> OpenAIBackend:
        return OpenAIBackend("stub", f"http://127.0.0.1:{self.port}/v1", max_retries=0, timeout=10)


@pytest.fixture
async def replicas():
    made: list[Replica] = []

    async def make(k: int, delay: float = 0.0) -> list[Replica]:
        new = [await Replica(delay).start() for _ in range(k)]
        made.extend(new)
        return new

    yield make
    for r in made:
        await r.stop()


def conversation(topic: int, steps: int) -> list[Message]:
    msgs = [Message.system("You are helpful."), Message.user(f"topic {topic}")]
    for s in range(steps):
        msgs += [Message(role="assistant", content=f"step {s}"), Message.user(f"topic {topic} step {s}")]
    return msgs


QUIET = PoolPolicy(check_interval=0)  # no background checks unless a test asks for them


# ---------------------------------------------------------------- specs


def test_replica_specs_expand_and_group(monkeypatch):
    assert expand("openai:m@http://h:1/v1") == ["openai:m@http://h:1/v1"]
    assert expand("vllm:Qwen/Qwen3-8B*3") == ["vllm:Qwen/Qwen3-8B"] * 3
    with pytest.raises(ValueError, match="between 1 and 256"):
        expand("embedded*0")
    groups = group_specs(["openai:a@http://h1/v1", "openai:a@http://h2/v1", "embedded", "vllm:m*2"],
                         ["a", "a"])  # names for the first two only
    assert groups == [("a", ["openai:a@http://h1/v1", "openai:a@http://h2/v1"]), (None, ["embedded"]),
                      (None, ["vllm:m", "vllm:m"])]
    assert replica_kwargs("openai:m@http://h/v1", 0, 2) == {"max_retries": 1}
    assert replica_kwargs("openai:m@http://h/v1", 0, 1) == {}
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert replica_kwargs("vllm:m", 3, 4)["env"] == {"CUDA_VISIBLE_DEVICES": "3"}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    assert replica_kwargs("vllm:m", 3, 4)["env"] == {"CUDA_VISIBLE_DEVICES": "5"}


def test_session_key_is_shared_by_the_steps_of_a_conversation():
    tools = None
    assert session_key(conversation(1, 0), tools) == session_key(conversation(1, 5), tools)
    assert session_key(conversation(1, 0), tools) != session_key(conversation(2, 0), tools)


# ---------------------------------------------------------------- choosing replicas


async def test_each_conversation_sticks_to_one_replica_and_conversations_spread(replicas):
    reps = await replicas(3)
    pool = UpstreamPool([r.backend() for r in reps], "m", QUIET)
    try:
        for step in range(4):
            for topic in range(12):
                [c] = await pool.complete(conversation(topic, step))
                assert c.content == f"stub says: topic {topic}" + (f" step {step - 1}" if step else "")
        homes = {topic: {i for i, r in enumerate(reps) for h in r.hits if h.startswith(f"topic {topic}") and
                         h.split()[:2] == ["topic", str(topic)]} for topic in range(12)}
        assert all(len(h) == 1 for h in homes.values()), homes
        assert len({next(iter(h)) for h in homes.values()}) >= 2  # not everything on one replica
    finally:
        await pool.aclose()


async def test_bounded_load_spills_a_busy_conversation_over_to_other_replicas(replicas):
    reps = await replicas(3, delay=0.3)
    pool = UpstreamPool([r.backend() for r in reps], "m", QUIET)
    try:
        await asyncio.gather(*(pool.complete(conversation(7, 0)) for _ in range(9)))
        counts = sorted(len(r.hits) for r in reps)
        assert sum(counts) == 9 and counts[-1] <= 5, counts  # sticky alone would put all 9 on one
    finally:
        await pool.aclose()


def test_least_outstanding_order_without_stickiness():
    class Dummy:
        name = "d"

    pool = UpstreamPool([Dummy(), Dummy(), Dummy()], "m", PoolPolicy(sticky=False, check_interval=0))
    pool.replicas[0].in_flight, pool.replicas[1].in_flight, pool.replicas[2].in_flight = 3, 0, 1
    assert [r.in_flight for r in pool.order(b"any")] == [0, 1, 3]
    pool.replicas[1].ejected_until = time.monotonic() + 60  # ejected: last resort only
    assert [r.in_flight for r in pool.order(b"any")] == [1, 3]


# ---------------------------------------------------------------- failures


async def test_dead_replica_fails_over_then_is_ejected_and_readmitted(replicas):
    reps = await replicas(2)
    pool = UpstreamPool([r.backend() for r in reps], "m", PoolPolicy(check_interval=0, eject_after=2))
    try:
        await reps[0].stop()
        for topic in range(10):  # every request still answered
            [c] = await pool.complete(conversation(topic, 0))
            assert c.content == f"stub says: topic {topic}"
        dead = pool.replicas[0]
        assert not dead.up(time.monotonic()) and dead.failed >= 2
        assert len(reps[1].hits) == 10
        status = pool.status()
        assert status["healthy"] == 1 and "connection" in status["replicas"][0]["last_error"].lower()
        await pool.check()  # still down: stays out
        assert not dead.up(time.monotonic())
        await reps[0].start()  # back on its port
        await pool.check()
        assert dead.up(time.monotonic())
        before = len(reps[0].hits)
        for topic in range(10):
            await pool.complete(conversation(topic, 0))
        assert len(reps[0].hits) > before  # it takes its conversations back
    finally:
        await pool.aclose()


async def test_background_health_checks_eject_a_replica_before_a_request_hits_it(replicas):
    reps = await replicas(2)
    pool = UpstreamPool([r.backend() for r in reps], "m", PoolPolicy(check_interval=0.05, eject_after=1))
    try:
        await pool.complete(conversation(0, 0))  # starts the checker
        reps[1].mode = "down-health"
        for _ in range(100):
            if pool.status()["healthy"] == 1:
                break
            await asyncio.sleep(0.05)
        assert not pool.replicas[1].up(time.monotonic())
        reps[1].mode = "ok"
        for _ in range(100):
            if pool.status()["healthy"] == 2:
                break
            await asyncio.sleep(0.05)
        assert pool.status()["healthy"] == 2
    finally:
        await pool.aclose()
    assert pool._checker is None


async def test_5xx_fails_over_but_a_bad_request_does_not(replicas):
    reps = await replicas(2)
    pool = UpstreamPool([r.backend() for r in reps], "m", QUIET)
    try:
        reps[0].mode = reps[1].mode = "400"
        with pytest.raises(BackendError) as info:
            await pool.complete(conversation(1, 0))
        assert not isinstance(info.value, TransientBackendError)
        assert len(reps[0].hits) + len(reps[1].hits) == 1  # not retried elsewhere
        reps[0].mode = reps[1].mode = "503"
        with pytest.raises(TransientBackendError, match="every replica tried failed"):
            await pool.complete(conversation(1, 0))
        assert len(reps[0].hits) + len(reps[1].hits) == 3
        reps[1].mode = "ok"
        for topic in range(6):
            [c] = await pool.complete(conversation(topic, 0))
            assert c.content == f"stub says: topic {topic}"
    finally:
        await pool.aclose()


async def test_stream_fails_over_before_the_first_token_but_not_after(replicas):
    reps = await replicas(2)
    pool = UpstreamPool([r.backend() for r in reps], "m", QUIET)
    s = Sampling(max_tokens=16)
    try:
        await reps[0].stop()
        for topic in range(4):
            events = [ev async for ev in pool.stream(conversation(topic, 0), None, 1, s)]
            assert events[-1].completion.content == f"stub says: topic {topic}"
        await reps[0].start()
        await pool.check()
        reps[0].mode = reps[1].mode = "cut"
        reps[0].hits.clear(), reps[1].hits.clear()
        got = []
        with pytest.raises(TransientBackendError):
            async for ev in pool.stream(conversation(3, 0), None, 1, s):
                got.append(ev.text)
        assert got == ["half an ans"]
        assert len(reps[0].hits) + len(reps[1].hits) == 1  # a replay would contradict what was sent
    finally:
        await pool.aclose()


# ---------------------------------------------------------------- through the endpoint


async def test_served_pool_keeps_answering_an_openai_client_and_reports_health(replicas):
    reps = await replicas(3)
    pool = UpstreamPool([r.backend() for r in reps], "m", QUIET, replica_names=["a", "b", "c"])
    runner, port = await start_server(make_app({"m": pool}))
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    try:
        await reps[2].stop()
        for topic in range(9):
            r = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q{topic}"}])
            assert r.choices[0].message.content == f"stub says: q{topic}"
            stream = await client.chat.completions.create(
                model="m", stream=True, messages=[{"role": "user", "content": f"s{topic}"}])
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
            assert text == f"stub says: s{topic}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                health = await resp.json()
        assert resp.status == 200 and health["status"] == "degraded"
        states = {r["name"]: r["healthy"] for r in health["pools"]["m"]["replicas"]}
        assert states == {"a": True, "b": True, "c": False}
        assert health["models"] == {"m": "degraded"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health", params={"model": "m"}) as resp:
                one = await resp.json()
        assert one["model"] == "m" and one["status"] == "degraded" and one["healthy"] == 2
    finally:
        await client.close()
        await runner.cleanup()
        await pool.aclose()
