"""OpenAIBackend against real local HTTP servers.

Two kinds of server: our own endpoint in front of `EchoBackend` (a deterministic
test double standing in for a model) for round trips, and a scripted raw
aiohttp server that injects failures (429, 5xx, 400, slowness) for the retry
policy. Backoff values are tiny so the retries cost milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from agentforge.runtime.backends.base import Backend, BackendError, TransientBackendError
from agentforge.runtime.backends.openai_backend import (
    BackendTimeoutError,
    OpenAIBackend,
    RetriesExhaustedError,
    completions_from_response,
)
from agentforge.runtime.messages import Message, Sampling, ToolCall, ToolSpec
from agentforge.serving.server import make_app, start_server
from tests.fakes.echo_backend import EchoBackend

FAST = dict(backoff_base=0.001, backoff_max=0.01)
WEATHER = ToolSpec.model_validate({"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})


def ok_body(content="hi", n=1, **choice_extra):
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": i, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", **choice_extra} for i in range(n)],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4 * n, "total_tokens": 5 + 4 * n}}


class Scripted:
    """A raw server that answers request k with steps[k] (the last step repeats).
    A step is (status, body, headers, delay_seconds)."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[dict] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        status, body, headers, delay = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if delay:
            await asyncio.sleep(delay)
        return web.json_response(body, status=status, headers=headers or {})


@pytest.fixture
async def scripted():
    """scripted(*steps) -> (Scripted, base_url)."""
    runners = []

    async def _start(*steps):
        s = Scripted(*steps)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", s.handle)
        runner, port = await start_server(app)
        runners.append(runner)
        return s, f"http://127.0.0.1:{port}/v1"

    yield _start
    for r in runners:
        await r.cleanup()


@pytest.fixture
async def echo():
    """An OpenAIBackend talking to our server in front of EchoBackend."""
    fake = EchoBackend()
    runner, port = await start_server(make_app({"echo": fake}))
    backend = OpenAIBackend("echo", f"http://127.0.0.1:{port}/v1", "k", **FAST)
    yield backend, fake
    await backend.aclose()
    await runner.cleanup()


def err(status, message="boom", headers=None, delay=0.0):
    return (status, {"error": {"message": message, "type": "x", "param": None, "code": None}}, headers, delay)


OK = (200, ok_body(), None, 0.0)
USER = [Message.user("hello")]


# ---------------------------------------------------------------- round trips through our server


async def test_round_trip_text_n_logprobs(echo):
    backend, fake = echo
    assert isinstance(backend, Backend) and backend.name == "echo"
    out = await backend.complete(USER, n=3, sampling=Sampling(logprobs=True, top_logprobs=2, temperature=0.3,
                                                               extra_body={"return_token_ids": True}))
    assert [c.content for c in out] == [f"echo[{i}]: hello" for i in range(3)]
    assert [c.text for c in out] == [c.content for c in out]
    c = out[2]
    assert "".join(t.token for t in c.logprobs) == "echo[2]: hello"
    assert [t.token for t in c.logprobs[0].top] == ["echo", "alt1"]
    assert c.token_ids == [1000 + k for k in range(len(c.logprobs))]
    assert c.usage.completion_tokens == len(c.logprobs) and c.usage.prompt_tokens == 1
    assert c.finish_reason == "stop" and c.model == "echo"
    assert fake.calls[0]["n"] == 3 and fake.calls[0]["sampling"].temperature == 0.3


async def test_round_trip_tool_calls(echo):
    backend, fake = echo
    (c,) = await backend.complete([Message.user("call get_weather city=Rome")], tools=[WEATHER],
                                  sampling=Sampling(tool_choice="auto"))
    assert c.finish_reason == "tool_calls" and c.content == "Checking."
    (call,) = c.tool_calls
    assert call.name == "get_weather" and call.parsed_arguments() == {"city": "Rome"}
    assert c.text == 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    # the call goes back as history with its id intact
    history = [Message.user("call get_weather city=Rome"), c.message(), Message.tool("sunny", call.id), Message.user("ok")]
    (c2,) = await backend.complete(history, tools=[WEATHER])
    assert c2.content == "echo[0]: ok"
    sent = fake.calls[1]["messages"]
    assert sent[1].tool_calls[0].id == call.id and sent[2].tool_call_id == call.id


async def test_round_trip_stream(echo):
    backend, _ = echo
    events = [ev async for ev in backend.stream(USER, n=2, sampling=Sampling(logprobs=True, top_logprobs=1))]
    for i in (0, 1):
        mine = [e for e in events if e.index == i]
        assert "".join(e.text for e in mine) == f"echo[{i}]: hello"
        (final,) = [e.completion for e in mine if e.completion]
        assert mine[-1].completion is final
        assert final.content == f"echo[{i}]: hello" and final.finish_reason == "stop"
        assert [e.logprob.token for e in mine if e.logprob] == [t.token for t in final.logprobs]
        assert final.usage.completion_tokens == len(final.logprobs)


async def test_round_trip_stream_tool_call(echo):
    backend, _ = echo
    events = [ev async for ev in backend.stream([Message.user("call get_weather city=Rome")], tools=[WEATHER])]
    assert "".join(e.text for e in events) == "Checking."
    final = events[-1].completion
    assert final.tool_calls[0].parsed_arguments() == {"city": "Rome"} and final.finish_reason == "tool_calls"


async def test_server_error_is_clear(echo):
    backend, _ = echo
    backend.model = "missing"
    with pytest.raises(BackendError, match="HTTP 404.*'missing' does not exist.*check the model name") as e:
        await backend.complete(USER)
    assert not isinstance(e.value, TransientBackendError)


# ---------------------------------------------------------------- retries against injected failures


async def test_429_then_success_honours_retry_after(scripted):
    s, url = await scripted(err(429, headers={"Retry-After": "0.2"}), OK)
    b = OpenAIBackend("m", url, **FAST)
    t0 = time.monotonic()
    (c,) = await b.complete(USER)
    assert c.content == "hi" and len(s.requests) == 2
    assert time.monotonic() - t0 >= 0.2
    await b.aclose()


async def test_retry_after_is_capped(scripted):
    s, url = await scripted(err(429, headers={"Retry-After": "3600"}), OK)
    b = OpenAIBackend("m", url, retry_after_cap=0.05, **FAST)
    t0 = time.monotonic()
    await b.complete(USER)
    assert time.monotonic() - t0 < 2 and len(s.requests) == 2
    await b.aclose()


async def test_5xx_then_success(scripted):
    s, url = await scripted(err(500), err(503), err(502), OK)
    b = OpenAIBackend("m", url, max_retries=3, **FAST)
    assert (await b.complete(USER))[0].content == "hi"
    assert len(s.requests) == 4
    await b.aclose()


async def test_always_500_gives_up_with_attempt_count(scripted):
    s, url = await scripted(err(500, "engine died"))
    b = OpenAIBackend("m", url, max_retries=2, **FAST)
    with pytest.raises(RetriesExhaustedError, match=r"HTTP 500: engine died \(gave up after 3 attempts\)") as e:
        await b.complete(USER)
    assert e.value.attempts == 3 and isinstance(e.value, TransientBackendError)
    assert len(s.requests) == 3
    await b.aclose()


@pytest.mark.parametrize("status, hint", [(400, "check the request options"), (401, "API key"),
                                          (404, "model name and the base_url"), (422, "check the request")])
async def test_client_errors_fail_at_once(scripted, status, hint):
    s, url = await scripted(err(status, "you did it wrong"))
    b = OpenAIBackend("m", url, **FAST)
    with pytest.raises(BackendError) as e:
        await b.complete(USER)
    assert not isinstance(e.value, TransientBackendError)
    assert f"HTTP {status}: you did it wrong" in str(e.value) and hint in str(e.value)
    assert "'m'" in str(e.value) and url in str(e.value)
    assert len(s.requests) == 1
    await b.aclose()


async def test_slow_server_times_out_then_retries(scripted):
    s, url = await scripted((200, ok_body(), None, 2.0), OK)
    b = OpenAIBackend("m", url, timeout=0.3, **FAST)
    assert (await b.complete(USER))[0].content == "hi"
    assert len(s.requests) == 2
    await b.aclose()


async def test_always_slow_raises_timeout(scripted):
    s, url = await scripted((200, ok_body(), None, 2.0))
    b = OpenAIBackend("m", url, timeout=0.2, max_retries=1, **FAST)
    with pytest.raises(BackendTimeoutError, match="timed out.*2 attempts") as e:
        await b.complete(USER)
    assert isinstance(e.value, TimeoutError) and isinstance(e.value, TransientBackendError)
    assert e.value.attempts == 2 and len(s.requests) == 2
    await b.aclose()


async def test_connection_refused_is_clear():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    b = OpenAIBackend("m", f"http://127.0.0.1:{port}/v1", max_retries=1, **FAST)
    with pytest.raises(TransientBackendError, match="connection failed.*2 attempts.*is the server running"):
        await b.complete(USER)
    await b.aclose()


async def test_stream_open_is_retried(scripted):
    # The scripted server cannot stream; a 503 then a JSON body is enough to see the
    # opening request retried and then a clear failure for the non-SSE answer.
    s, url = await scripted(err(503), err(400, "no streaming here"))
    b = OpenAIBackend("m", url, **FAST)
    with pytest.raises(BackendError, match="HTTP 400: no streaming here"):
        [ev async for ev in b.stream(USER)]
    assert len(s.requests) == 2 and s.requests[0]["stream"] is True
    assert s.requests[0]["stream_options"] == {"include_usage": True}
    await b.aclose()


# ---------------------------------------------------------------- what goes on the wire


async def test_request_fields(scripted):
    s, url = await scripted(OK)
    b = OpenAIBackend("m", url, **FAST)
    sampling = Sampling(temperature=0.2, top_p=0.8, top_k=20, max_tokens=33, seed=5, stop=["END"], logprobs=True,
                        top_logprobs=4, tool_choice="required", extra_body={"repetition_penalty": 1.1})
    history = [Message.system("sys"), Message.user("u"),
               Message(role="assistant", tool_calls=[ToolCall.make("get_weather", {"city": "X"}, id="call_1")]),
               Message.tool("r", "call_1")]
    await b.complete(history, tools=[WEATHER], n=2, sampling=sampling)
    req = s.requests[0]
    assert req["model"] == "m" and req["n"] == 2
    assert (req["temperature"], req["top_p"], req["max_tokens"], req["seed"], req["stop"]) == (0.2, 0.8, 33, 5, ["END"])
    assert req["logprobs"] is True and req["top_logprobs"] == 4 and req["tool_choice"] == "required"
    assert req["top_k"] == 20 and req["repetition_penalty"] == 1.1  # extra_body lands at the top level
    assert "extra_body" not in req
    assert req["tools"][0]["function"]["name"] == "get_weather"
    assert req["messages"][2]["tool_calls"][0]["id"] == "call_1" and req["messages"][3]["tool_call_id"] == "call_1"
    await b.aclose()


async def test_response_format_is_passed_upstream(scripted):
    """OpenAI-compatible upstreams (OpenAI, vLLM, another agent serve) enforce the format themselves."""
    s, url = await scripted(OK)
    b = OpenAIBackend("m", url, **FAST)
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "strict": True, "schema": {"type": "object"}}}
    await b.complete(USER, sampling=Sampling(response_format=fmt))
    await b.complete(USER)
    assert s.requests[0]["response_format"] == fmt and "response_format" not in s.requests[1]
    await b.aclose()


async def test_default_sampling_used(scripted):
    s, url = await scripted(OK)
    b = OpenAIBackend("m", url, default_sampling=Sampling(temperature=0.0, max_tokens=7), name="shown", **FAST)
    await b.complete(USER)
    assert (s.requests[0]["temperature"], s.requests[0]["max_tokens"]) == (0.0, 7) and b.name == "shown"
    assert "logprobs" not in s.requests[0] and "tools" not in s.requests[0]
    await b.aclose()


async def test_fan_out_without_n(scripted):
    s, url = await scripted(OK)
    b = OpenAIBackend("m", url, supports_n=False, **FAST)
    out = await b.complete(USER, n=3)
    assert len(out) == 3 and len(s.requests) == 3 and all(r["n"] == 1 for r in s.requests)
    await b.aclose()


async def test_stream_fan_out_without_n(echo):
    backend, fake = echo
    backend.supports_n = False
    events = [ev async for ev in backend.stream(USER, n=3)]
    finals = {e.index: e.completion for e in events if e.completion}
    assert sorted(finals) == [0, 1, 2] and all(c.content == "echo[0]: hello" for c in finals.values())
    assert [c["n"] for c in fake.calls] == [1, 1, 1]


# ---------------------------------------------------------------- conversion of odd responses


def test_conversion_extras():
    data = ok_body(content=None, n=2)
    data["choices"][0]["message"].update(
        reasoning_content="thinking...",
        tool_calls=[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}])
    data["choices"][0]["finish_reason"] = "stop"  # some servers say stop even with calls
    data["choices"][1].update(finish_reason="content_filter", token_ids=[1, 2, 3])
    data["choices"][1]["message"].update(content="x", reasoning="r2")
    data["usage"]["completion_tokens"] = 9
    a, b = completions_from_response(data)
    assert a.reasoning == "thinking..." and a.finish_reason == "tool_calls"
    assert a.tool_calls[0].id == "c1" and json.loads(a.tool_calls[0].function.arguments) == {"a": 1}
    assert a.text.startswith("<tool_call>") and a.content is None
    assert a.usage.completion_tokens == 5  # 9 split over 2 candidates (first gets the remainder)
    assert b.usage.completion_tokens == 3 and b.token_ids == [1, 2, 3]  # known from the ids
    assert b.finish_reason == "stop" and b.reasoning == "r2" and b.usage.prompt_tokens == 5


def test_conversion_parses_unparsed_hermes_markup():
    # an upstream without a tool-call parser hands the markup back as content
    raw = 'ok <tool_call>\n{"name": "f", "arguments": {"x": 2}}\n</tool_call>'
    (c,) = completions_from_response(ok_body(content=raw))
    assert c.text == raw and c.content == "ok" and c.tool_calls[0].parsed_arguments() == {"x": 2}
    assert c.finish_reason == "tool_calls"


def test_conversion_logprobs():
    lp = {"content": [{"token": "a", "logprob": -0.1, "bytes": [97],
                       "top_logprobs": [{"token": "a", "logprob": -0.1}, {"token": "token_id:7", "logprob": -2.0}]}]}
    (c,) = completions_from_response(ok_body(content="a", logprobs=lp))
    assert c.logprobs[0].logprob == -0.1 and c.logprobs[0].top[1].token_id == 7
    assert c.usage.completion_tokens == 1


def test_alternatives_masked_by_a_grammar_are_dropped():
    """vLLM reports what guided decoding ruled out as -9999.0; confidence must not see it."""
    from agentforge.selectors.candidate import token_confidence

    lp = {"content": [{"token": "{", "logprob": 0.0, "top_logprobs": [
        {"token": "{", "logprob": 0.0}, {"token": "Hello", "logprob": -9999.0}, {"token": "I", "logprob": -9999.0}]}]}
    (c,) = completions_from_response(ok_body(content="{", logprobs=lp))
    assert [t.token for t in c.logprobs[0].top] == ["{"]
    assert token_confidence([t.logprob for t in c.logprobs[0].top]) == 0.0


async def sse_upstream(*writes: bytes) -> tuple[web.AppRunner, str]:
    """A server whose chat endpoint streams these raw bytes, one write each; (runner, base URL)."""
    async def sse(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for w in writes:
            await resp.write(w)
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", sse)
    runner, port = await start_server(app)
    return runner, f"http://127.0.0.1:{port}/v1"


async def test_stream_deltas_like_vllm(scripted):
    """Tool-call arguments arrive in pieces, reasoning in its own field, usage last."""
    def chunk(choices, usage=None):
        return {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": choices, "usage": usage}

    def ch(i, delta, finish=None):
        return {"index": i, "delta": delta, "finish_reason": finish, "logprobs": None}

    chunks = [
        chunk([ch(0, {"role": "assistant", "content": ""}), ch(1, {"role": "assistant", "content": ""})]),
        chunk([ch(0, {"reasoning_content": "hmm, "})]),
        chunk([ch(0, {"reasoning_content": "weather"})]),
        chunk([ch(1, {"content": "plain "})]),
        chunk([ch(0, {"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                       "function": {"name": "get_weather", "arguments": ""}}]})]),
        chunk([ch(0, {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]})]),
        chunk([ch(1, {"content": "answer"}, "length")]),
        chunk([ch(0, {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}, "tool_calls")]),
        chunk([], {"prompt_tokens": 11, "completion_tokens": 9, "total_tokens": 20}),
    ]

    runner, url = await sse_upstream(*(f"data: {json.dumps(c)}\n\n".encode() for c in chunks), b"data: [DONE]\n\n")
    b = OpenAIBackend("m", url, **FAST)
    events = [ev async for ev in b.stream(USER, n=2)]
    await b.aclose()
    await runner.cleanup()
    assert "".join(e.text for e in events if e.index == 1) == "plain answer"
    assert not any(e.text for e in events if e.index == 0)  # reasoning and calls are not content
    finals = {e.index: e.completion for e in events if e.completion}
    a, c = finals[0], finals[1]
    assert a.reasoning == "hmm, weather" and a.finish_reason == "tool_calls" and a.content is None
    assert a.tool_calls[0].id == "call_a" and a.tool_calls[0].parsed_arguments() == {"city": "Oslo"}
    assert c.content == "plain answer" and c.finish_reason == "length"
    assert (a.usage.prompt_tokens, a.usage.completion_tokens, c.usage.completion_tokens) == (11, 5, 4)


async def test_stream_answered_without_sse_is_an_error(scripted):
    s, url = await scripted(OK)  # ignores stream=true and sends one JSON body
    b = OpenAIBackend("m", url, **FAST)
    with pytest.raises(BackendError, match="no stream events"):
        [ev async for ev in b.stream(USER)]
    await b.aclose()


async def test_a_bare_url_spec_serves_the_one_model_listed():
    from agentforge.runtime.backends import make_backend

    runner, port = await start_server(make_app({"solo": EchoBackend("solo")}))
    two, port2 = await start_server(make_app({"a": EchoBackend("a"), "b": EchoBackend("b")}))
    try:
        backend = await make_backend(f"http://127.0.0.1:{port}/v1", max_retries=0)
        [c] = await backend.complete([Message.user("hi")])
        assert backend.model == "solo" and c.content == "echo[0]: hi"
        await backend.aclose()
        with pytest.raises(BackendError, match=r"serves 2 models \(a, b\); name one as openai:MODEL@"):
            await make_backend(f"http://127.0.0.1:{port2}/v1")
    finally:
        await runner.cleanup()
        await two.cleanup()


class _Pieces:
    """Just the part of an aiohttp response that sse_events reads: bytes in arbitrary pieces."""

    def __init__(self, raw: bytes, size: int):
        self.content = self
        self.pieces = [raw[i:i + size] for i in range(0, len(raw), size)]

    async def iter_any(self):
        for p in self.pieces:
            yield p


@pytest.mark.parametrize("size", [1, 7, 100_000])
async def test_sse_events_parse_whatever_the_piece_boundaries(size):
    from agentforge.runtime.backends.openai_backend import sse_events

    big = "x" * 200_000  # longer than aiohttp's readline limit
    raw = (b": keep-alive comment\n\n"
           b"data: {\"a\": 1}\r\n\r\n"
           b"event: message\ndata: {\"b\":\ndata: 2}\n\n"
           + f'data: {{"big": "{big}"}}\n\n'.encode()
           + b"data: [DONE]\n\ndata: {\"after\": true}\n\n")
    events = [e async for e in sse_events(_Pieces(raw, size))]
    assert events == [{"a": 1}, {"b": 2}, {"big": big}]
    tail = [e async for e in sse_events(_Pieces(b'data: {"last": 1}', size))]  # no closing blank line
    assert tail == [{"last": 1}]


async def test_sse_error_events_and_garbage_raise():
    from agentforge.runtime.backends.openai_backend import UpstreamError, sse_events

    with pytest.raises(UpstreamError, match="engine died"):
        [e async for e in sse_events(_Pieces(b'data: {"a": 1}\n\ndata: {"error": {"message": "engine died"}}\n\n', 5))]
    with pytest.raises(BackendError, match="not JSON"):
        [e async for e in sse_events(_Pieces(b"data: {oops\n\n", 5))]


async def test_a_stream_error_event_is_a_transient_failure_through_the_backend():
    runner, url = await sse_upstream(b'data: {"choices": [{"index": 0, "delta": {"content": "par"}}]}\n\n',
                                     b'data: {"error": {"message": "engine died", "code": 500}}\n\n')
    b = OpenAIBackend("m", url, **FAST)
    got = []
    try:
        with pytest.raises(TransientBackendError, match="stream broke off: engine died"):
            async for ev in b.stream(USER):
                got.append(ev.text)
        assert got == ["par"]
    finally:
        await b.aclose()
        await runner.cleanup()
