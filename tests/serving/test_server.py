"""The OpenAI-compatible endpoint, exercised over real HTTP on 127.0.0.1.

The model behind it is `EchoBackend`, a deterministic test double (see
tests/fakes/echo_backend.py); end-to-end tests with the real embedded model
are written separately. Responses are read with the official `openai` client
wherever the client can express the request.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import openai
import pytest

from agentforge.runtime.backends.base import StreamEvent, TransientBackendError, stream_from_complete
from agentforge.serving.server import ServerLimits, api_keys_from_env, make_app, openapi_spec, start_server
from tests.fakes.echo_backend import EchoBackend

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
async def start():
    """start(keys=(), limits=None) -> (base_url, backend); stopped at teardown."""
    runners = []

    async def _start(keys=(), limits=None, backend=None, aliases=None):
        backend = backend or EchoBackend()
        runner, port = await start_server(make_app({"echo": backend}, keys, limits, aliases=aliases))
        runners.append(runner)
        return f"http://127.0.0.1:{port}", backend

    yield _start
    for r in runners:
        await r.cleanup()


@pytest.fixture
async def server(start):
    return await start()


@pytest.fixture
async def client(server):
    url, _ = server
    c = openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    yield c
    await c.close()


async def post(url, body=None, *, raw=None, headers=None):
    """POST to /v1/chat/completions; returns (status, parsed JSON body)."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    data = raw if raw is not None else json.dumps(body)
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "/v1/chat/completions", data=data, headers=headers) as r:
            return r.status, await r.json(content_type=None)


async def _until(condition, seconds: float = 20.0) -> None:
    """Poll until `condition()` holds (generous: the machine may be loaded)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def assert_error(status, body, expected_status, code=None, param=None):
    assert status == expected_status, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code
    if param is not None:
        assert err["param"] == param


# ---------------------------------------------------------------- auth


async def test_auth(start):
    url, _ = await start(keys=["k1", "k2"])
    body = {"model": "echo", "messages": USER}
    assert_error(*await post(url, body), 401, code="invalid_api_key")
    assert_error(*await post(url, body, headers={"Authorization": "Bearer nope"}), 401, code="invalid_api_key")
    assert_error(*await post(url, body, headers={"Authorization": "Basic k1"}), 401)
    status, out = await post(url, body, headers={"Authorization": "Bearer k2"})
    assert status == 200 and out["choices"][0]["message"]["content"] == "echo[0]: hello there"
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/health") as r:
            assert r.status == 200
        async with s.get(url + "/v1/models") as r:
            assert r.status == 401
        async with s.get(url + "/v1/models", headers={"Authorization": "Bearer k1"}) as r:
            assert (await r.json())["data"][0]["id"] == "echo"
    c = openai.AsyncOpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await c.models.list()
    await c.close()


def test_api_keys_from_env(monkeypatch):
    monkeypatch.setenv("AGENTFORGE_API_KEYS", " a, b ,,c ")
    assert api_keys_from_env() == ["a", "b", "c"]
    monkeypatch.delenv("AGENTFORGE_API_KEYS")
    assert api_keys_from_env() == []


# ---------------------------------------------------------------- validation


def _body(**changes):
    body = {"model": "echo", "messages": USER}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


BAD_BODIES = {
    "missing model": (_body(model=...), 400, "model"),
    "missing both": ({}, 400, "model"),
    "missing messages": (_body(messages=...), 400, "messages"),
    "empty messages": (_body(messages=[]), 400, "messages"),
    "messages not a list": (_body(messages="hi"), 400, "messages"),
    "model not a string": (_body(model=3), 400, "model"),
    "n as string": (_body(n="2"), 400, "n"),
    "n zero": (_body(n=0), 400, "n"),
    "n float": (_body(n=1.5), 400, "n"),
    "n too large": (_body(n=17), 400, "n"),
    "temperature string": (_body(temperature="hot"), 400, "temperature"),
    "temperature negative": (_body(temperature=-1), 400, "temperature"),
    "top_p zero": (_body(top_p=0), 400, "top_p"),
    "stream as string": (_body(stream="yes"), 400, "stream"),
    "max_tokens too large": (_body(max_tokens=8193), 400, "max_tokens"),
    "max_completion_tokens too large": (_body(max_completion_tokens=10**9), 400, "max_completion_tokens"),
    "max_tokens zero": (_body(max_tokens=0), 400, "max_tokens"),
    "seed too large": (_body(seed=2**64), 400, "seed"),
    "stop wrong type": (_body(stop=[1, 2]), 400, "stop"),
    "top_logprobs too large": (_body(logprobs=True, top_logprobs=21), 400, "top_logprobs"),
    "top_logprobs without logprobs": (_body(top_logprobs=3), 400, "top_logprobs"),
    "bad role": (_body(messages=[{"role": "wizard", "content": "x"}]), 400, "messages.0.role"),
    "message not an object": (_body(messages=["hi"]), 400, "messages.0"),
    "user without content": (_body(messages=[{"role": "user"}]), 400, None),
    "image content part": (_body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]), 400, None),
    "tool_calls malformed": (_body(messages=[{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]), 400, None),
    "tools not a list": (_body(tools={"type": "function"}), 400, "tools"),
    "tool without function": (_body(tools=[{"type": "function"}]), 400, None),
    "tool wrong type": (_body(tools=[{"type": "retrieval", "function": {"name": "f"}}]), 400, None),
    "tool parameters not object": (_body(tools=[{"type": "function", "function": {"name": "f", "parameters": [1]}}]), 400, None),
    "tool empty name": (_body(tools=[{"type": "function", "function": {"name": " "}}]), 400, None),
    "tool_choice unknown tool": (_body(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}), 400, "tool_choice"),
    "tool_choice bad string": (_body(tool_choice="sometimes"), 400, "tool_choice"),
    "tool_choice required without tools": (_body(tool_choice="required"), 400, "tool_choice"),
    "unknown model": (_body(model="gpt-17"), 404, "model"),
    "response_format unknown type": (_body(response_format={"type": "xml"}), 400, "response_format"),
    "response_format a string": (_body(response_format="json"), 400, "response_format"),
    "json_schema without its spec": (_body(response_format={"type": "json_schema"}), 400, "response_format.json_schema"),
    "json_schema without a name": (_body(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
                                   400, "response_format.json_schema.name"),
    "json_schema schema not an object": (_body(response_format={"type": "json_schema", "json_schema": {
        "name": "x", "schema": [1]}}), 400, "response_format.json_schema.schema"),
    "json_schema nested too deep": (_body(response_format={"type": "json_schema", "json_schema": {
        "name": "x", "schema": json.loads('{"items": ' * 200 + "{}" + "}" * 200)}}), 400, "response_format"),
    "response_format with a forced call": (_body(tools=TOOLS, tool_choice="required",
                                                 response_format={"type": "json_object"}), 400, "response_format"),
    "tool message without tool_call_id": (_body(messages=[*USER, {"role": "tool", "content": "sunny"}]), 400, "messages.1"),
    "tool message answering no call": (_body(messages=[
        *USER, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                       "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c2", "content": "sunny"}]), 400, "messages.2"),
    "lone surrogate": (None, 400, None),  # built below: json.dumps cannot write one
    "too many messages": (_body(messages=USER * 2049), 400, "messages"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_validation_errors(server, case):
    url, backend = server
    body, status, param = BAD_BODIES[case]
    if case == "lone surrogate":
        got = await post(url, raw='{"model": "echo", "messages": [{"role": "user", "content": "\\ud800"}]}')
    else:
        got = await post(url, body)
    assert_error(*got, status, param=param)
    assert not backend.calls  # nothing reached the model


@pytest.mark.parametrize("raw, ctype, status, code", [
    ("{not json", "application/json", 400, "invalid_json"),
    ("", "application/json", 400, "invalid_json"),
    ("[1, 2]", "application/json", 400, "invalid_json"),
    ("null", "application/json", 400, "invalid_json"),
    ("[" * 100_000 + "]" * 100_000, "application/json", 400, "invalid_json"),
    ('{"model": "echo", "n": 1' + "0" * 5000 + "}", "application/json", 400, "invalid_json"),
    (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
    (json.dumps(_body()), "text/plain", 400, "invalid_content_type"),
    (json.dumps(_body()), "application/x-www-form-urlencoded", 400, "invalid_content_type"),
])
async def test_malformed_bodies(server, raw, ctype, status, code):
    url, _ = server
    assert_error(*await post(url, raw=raw, headers={"Content-Type": ctype}), status, code=code)


async def test_huge_body(start):
    url, _ = await start(limits=ServerLimits(max_body_bytes=1000))
    big = _body(messages=[{"role": "user", "content": "x" * 5000}])
    assert_error(*await post(url, big), 413, code="request_too_large")

    async def chunked():  # no Content-Length: aiohttp's own limit must catch it
        yield json.dumps(big).encode()

    async with aiohttp.ClientSession() as s:
        async with s.post(url + "/v1/chat/completions", data=chunked(),
                          headers={"Content-Type": "application/json"}) as r:
            assert_error(r.status, await r.json(), 413)


async def test_unknown_route_and_method(server):
    url, _ = server
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/v1/nothing") as r:
            assert_error(r.status, await r.json(), 404)
        async with s.get(url + "/v1/chat/completions") as r:
            assert_error(r.status, await r.json(), 405)
        async with s.get(url + "/v1/models/echo") as r:
            assert (await r.json())["id"] == "echo"
        async with s.get(url + "/v1/models/other") as r:
            assert_error(r.status, await r.json(), 404, code="model_not_found")


@pytest.mark.parametrize("message, status, code", [
    ("fail transient", 503, "backend_unavailable"),
    ("fail hard", 502, "backend_error"),
])
async def test_backend_failures(server, message, status, code):
    url, _ = server
    assert_error(*await post(url, _body(messages=[{"role": "user", "content": message}])), status, code=code)


async def test_request_timeout(start):
    url, backend = await start(limits=ServerLimits(request_timeout=0.2))
    assert_error(*await post(url, _body(messages=[{"role": "user", "content": "slow"}])), 504, code="timeout")
    assert backend.cancelled == 1


# ---------------------------------------------------------------- responses


async def test_plain_completion(client, server):
    _, backend = server
    r = await client.chat.completions.create(
        model="echo", messages=[{"role": "system", "content": "be brief"},
                                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "you"}]}],
        temperature=0.5, top_p=0.9, seed=7, stop="zz", max_completion_tokens=100,
        extra_body={"top_k": 40})
    assert r.object == "chat.completion" and r.model == "echo"
    assert r.choices[0].message.content == "echo[0]: hi\nyou"
    assert r.choices[0].finish_reason == "stop" and r.choices[0].logprobs is None
    assert r.usage.completion_tokens == len("echo[0]: hi\nyou") // 4 + 1
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    s = backend.calls[0]["sampling"]
    assert (s.temperature, s.top_p, s.seed, s.stop, s.max_tokens, s.top_k) == (0.5, 0.9, 7, ["zz"], 100, 40)
    assert backend.calls[0]["messages"][0].role == "system"


async def test_default_max_tokens_and_length(client, server):
    _, backend = server
    r = await client.chat.completions.create(model="echo", messages=USER, max_tokens=2)
    assert r.choices[0].finish_reason == "length" and r.choices[0].message.content == "echo[0]:"
    await client.chat.completions.create(model="echo", messages=USER)
    assert backend.calls[1]["sampling"].max_tokens == ServerLimits().default_max_tokens == 1024


async def test_tool_call_round_trip(client, server):
    _, backend = server
    r = await client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "call get_weather city=Paris"}],
        tools=TOOLS, tool_choice="auto")
    ch = r.choices[0]
    assert ch.finish_reason == "tool_calls"
    assert ch.message.content == "Checking."
    (call,) = ch.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    # feed the call and its result back: the history must validate and reach the model
    history = [{"role": "user", "content": "call get_weather city=Paris"},
               ch.message.model_dump(exclude_none=True),
               {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
               {"role": "user", "content": "thanks"}]
    r2 = await client.chat.completions.create(model="echo", messages=history, tools=TOOLS,
                                              tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert r2.choices[0].message.content == "echo[0]: thanks"
    sent = backend.calls[1]["messages"]
    assert sent[1].tool_calls[0].id == call.id and sent[2].tool_call_id == call.id
    assert backend.calls[1]["sampling"].tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert backend.calls[1]["tools"][0].name == "get_weather"


async def test_n_logprobs_and_token_ids(client):
    r = await client.chat.completions.create(model="echo", messages=USER, n=3, logprobs=True, top_logprobs=2,
                                             extra_body={"return_token_ids": True})
    assert [c.message.content for c in r.choices] == [f"echo[{i}]: hello there" for i in range(3)]
    assert [c.index for c in r.choices] == [0, 1, 2]
    lp = r.choices[1].logprobs.content
    assert "".join(t.token for t in lp) == "echo[1]: hello there"
    assert lp[1].logprob == -0.5 and lp[1].bytes == list(lp[1].token.encode())
    assert [t.token for t in lp[0].top_logprobs] == ["echo", "alt1"]
    assert r.choices[0].model_extra["token_ids"] == [1000 + k for k in range(len(lp))]
    assert r.usage.completion_tokens == 3 * len(lp)


async def _collect(stream):
    content, calls, finish, lps, usage, roles = {}, {}, {}, {}, None, {}
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            i = ch.index
            if ch.delta.role:
                roles[i] = ch.delta.role
            content[i] = content.get(i, "") + (ch.delta.content or "")
            for tc in ch.delta.tool_calls or []:
                calls.setdefault(i, []).append(tc)
            if ch.logprobs and ch.logprobs.content:
                lps.setdefault(i, []).extend(ch.logprobs.content)
            if ch.finish_reason:
                finish[i] = ch.finish_reason
    return content, calls, finish, lps, usage, roles


async def test_stream_text_logprobs_usage(client):
    stream = await client.chat.completions.create(model="echo", messages=USER, n=2, stream=True, logprobs=True,
                                                  top_logprobs=1, stream_options={"include_usage": True})
    content, calls, finish, lps, usage, roles = await _collect(stream)
    assert content == {0: "echo[0]: hello there", 1: "echo[1]: hello there"}
    assert roles == {0: "assistant", 1: "assistant"} and finish == {0: "stop", 1: "stop"} and not calls
    assert "".join(t.token for t in lps[1]) == "echo[1]: hello there"
    assert all(len(t.top_logprobs) == 1 for t in lps[0])
    assert usage.completion_tokens == 2 * len(lps[0]) and usage.prompt_tokens == 2


async def test_stream_holds_back_tool_markup(client):
    stream = await client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "call get_weather city=Oslo"}], tools=TOOLS,
        stream=True, logprobs=True)
    content, calls, finish, lps, _, _ = await _collect(stream)
    assert content[0] == "Checking."  # not a character of the markup leaked
    # ".<to" straddles content and markup: its logprob goes with the markup
    assert "".join(t.token for t in lps[0]) == "Checking"
    (tc,) = calls[0]
    assert tc.index == 0 and tc.function.name == "get_weather" and json.loads(tc.function.arguments) == {"city": "Oslo"}
    assert finish[0] == "tool_calls"


class OnePieceBackend(EchoBackend):
    """Streams through base.stream_from_complete: text and Completion in one event."""

    def stream(self, messages, tools=None, n=1, sampling=None):
        return stream_from_complete(self, messages, tools, n, sampling)


async def test_stream_from_a_backend_that_cannot_stream(start):
    url, _ = await start(backend=OnePieceBackend())
    c = openai.AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    stream = await c.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "call get_weather city=Oslo"}], tools=TOOLS, stream=True)
    content, calls, finish, *_ = await _collect(stream)
    await c.close()
    assert content[0] == "Checking." and calls[0][0].function.name == "get_weather" and finish[0] == "tool_calls"


async def test_stream_partial_tag_is_released(client):
    # "<tool" at the very end looks like the start of a tag until the turn ends
    stream = await client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a <tool"}],
                                                  stream=True)
    content, *_ = await _collect(stream)
    assert content[0] == "echo[0]: a <tool"


async def test_stream_that_fails_before_its_first_token_gets_an_http_status(client):
    with pytest.raises(openai.InternalServerError, match="temporarily unavailable") as caught:
        await client.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "fail transient"}], stream=True)
    assert caught.value.status_code == 503


class FailsMidStream(EchoBackend):
    async def stream(self, messages, tools=None, n=1, sampling=None):
        yield StreamEvent(index=0, text="partial ")
        raise TransientBackendError("the fake model dropped the stream")


async def test_stream_backend_error_after_tokens_reaches_client_in_the_stream(start):
    url, _ = await start(backend=FailsMidStream())
    c = openai.AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    stream = await c.chat.completions.create(model="echo", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="dropped the stream"):
        await _collect(stream)
    await c.close()


async def test_stream_client_disconnect_cancels_generation(server, caplog):
    url, backend = server
    caplog.set_level(logging.WARNING)
    body = _body(messages=[{"role": "user", "content": "slow"}], stream=True)
    async with aiohttp.ClientSession() as s:
        r = await s.post(url + "/v1/chat/completions", json=body)
        await r.content.readline()  # the role chunk is out; generation is under way
        r.close()
    await _until(lambda: backend.cancelled)
    assert backend.cancelled == 1
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


async def test_non_stream_client_disconnect_cancels_generation(server):
    url, backend = server
    body = _body(messages=[{"role": "user", "content": "slow"}])
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as s:
        with pytest.raises(asyncio.TimeoutError):
            await s.post(url + "/v1/chat/completions", json=body)
    await _until(lambda: backend.cancelled)
    assert backend.cancelled == 1


async def test_openapi(start):
    url, _ = await start(limits=ServerLimits(max_n=3, max_tokens=77))
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/openapi.json") as r:
            spec = await r.json()
    assert set(spec["paths"]) >= {"/v1/chat/completions", "/v1/models", "/health"}
    req = spec["components"]["schemas"]["ChatRequest"]
    assert {"model", "messages"} <= set(req["required"])
    assert req["properties"]["n"]["maximum"] == 3  # this server's limits, as the validators apply them
    assert req["properties"]["max_tokens"]["anyOf"][0]["maximum"] == 77
    user, tool, assistant = spec["components"]["schemas"]["InMessage"]["oneOf"]
    assert "content" in user["required"] and "content" not in assistant["required"]
    assert {"content", "tool_call_id"} <= set(tool["required"]) and "tool_call_id" not in user["required"]
    assert req["properties"]["response_format"]  # the accepted formats are published
    assert spec["paths"]["/health"]["get"]["parameters"][0]["name"] == "model"
    assert "securitySchemes" in spec["components"] and openapi_spec(True)["paths"]["/v1/models"]["get"]["security"]
    json.dumps(spec)  # serializable, refs resolvable by name
    for name in json.dumps(spec).split('"#/components/schemas/')[1:]:
        assert name.split('"')[0] in spec["components"]["schemas"]


def test_engine_switches_in_a_request_reach_the_backend_sampling():
    from agentforge.serving.server import ChatRequest

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "constrained": False,
            "parallel_tool_calls": False, "return_token_ids": True}
    assert ChatRequest.model_validate(body).sampling(64).extra_body == {
        "constrained": False, "parallel_tool_calls": False, "return_token_ids": True}
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert ChatRequest.model_validate(plain).sampling(64).extra_body == {}


# ---------------------------------------------------------------- per-key limits


def test_key_specs_parse_and_reject_nonsense():
    from agentforge.serving.keys import KeyPolicy

    assert KeyPolicy.parse("sk-a") == KeyPolicy("sk-a")
    p = KeyPolicy.parse("sk-b:120:4")
    assert (p.key, p.rpm, p.concurrency) == ("sk-b", 120.0, 4)
    assert KeyPolicy.parse("sk-c::2").rpm is None
    for bad in (":60", "sk:x", "sk:1:2:3", "sk:1:1.5"):
        with pytest.raises(ValueError):
            KeyPolicy.parse(bad)


def test_token_bucket_refills_at_the_rate():
    from agentforge.serving.keys import KeyPolicy

    p = KeyPolicy("k", rpm=60)
    now = p._stamp
    assert all(p.take(now) == 0.0 for _ in range(60))  # a full minute's burst
    assert p.take(now) == pytest.approx(1.0)  # then one per second
    assert p.take(now + 1.0) == 0.0


async def test_each_key_has_its_own_rate_limit(start):
    url, _ = await start(keys=["sk-slow:2", "sk-free"])
    slow = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-slow", max_retries=0)
    free = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-free", max_retries=0)
    for _ in range(2):
        await slow.chat.completions.create(model="echo", messages=USER)
    with pytest.raises(openai.RateLimitError, match="2 requests per minute") as caught:
        await slow.chat.completions.create(model="echo", messages=USER)
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert caught.value.code == "rate_limit_exceeded"
    for _ in range(5):  # the other key is not affected
        await free.chat.completions.create(model="echo", messages=USER)


async def test_each_key_has_its_own_concurrency_limit(start):
    entered, release = asyncio.Event(), asyncio.Event()

    class Held(EchoBackend):
        async def complete(self, *args, **kwargs):
            entered.set()
            await release.wait()  # in flight until the test has seen the others refused
            return await super().complete(*args, **kwargs)

    url, _ = await start(keys=["sk-one::1"], backend=Held())
    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-one", max_retries=0)
    first = asyncio.create_task(client.chat.completions.create(model="echo", messages=USER))
    await asyncio.wait_for(entered.wait(), 20)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError, match="in flight"):
            await client.chat.completions.create(model="echo", messages=USER)
    release.set()
    assert (await first).choices[0].message.content == "echo[0]: hello there"
    await client.chat.completions.create(model="echo", messages=USER)  # free again once it finished
    await client.close()


async def test_shutdown_cancels_requests_still_running_after_the_grace_period():
    backend = EchoBackend()
    runner, port = await start_server(make_app({"echo": backend}), shutdown_timeout=0.5)
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    slow = asyncio.create_task(client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "slow"}]))  # ~10 s of "generation"
    await _until(lambda: backend.calls)  # the request is in flight
    started = asyncio.get_running_loop().time()
    await runner.cleanup()
    assert asyncio.get_running_loop().time() - started < 3
    with pytest.raises(openai.APIError):
        await slow
    await client.close()
    assert backend.cancelled == 1


# ---------------------------------------------------------------- issue 15: endpoint gaps


async def test_bad_input_messages_say_what_to_do(server):
    url, _ = server
    status, body = await post(url, _body(response_format={"type": "xml"}))
    assert status == 400 and "'xml'" in body["error"]["message"] and '"json_schema"' in body["error"]["message"]
    assert "Value error" not in body["error"]["message"]
    status, body = await post(url, _body(response_format={"type": "json_schema", "json_schema": {"schema": {}}}))
    assert status == 400 and "json_schema.name: Field required" in body["error"]["message"]
    assert '"name": "..."' in body["error"]["message"]  # and what a well-formed one looks like
    status, body = await post(url, _body(messages=[*USER, {"role": "tool", "content": "sunny"}]))
    assert status == 400 and "set it to the id of the assistant tool call" in body["error"]["message"]
    status, body = await post(url, _body(tools=TOOLS, tool_choice="required", response_format={"type": "json_object"}))
    assert status == 400 and "drop one of them" in body["error"]["message"]


@pytest.mark.parametrize("fmt, sent", [
    ({"type": "text"}, None),
    ({"type": "json_object"}, {"type": "json_object"}),
    ({"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": {"type": "object"}}},
     {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": {"type": "object"}}}),
])
async def test_response_format_reaches_the_backend_in_openais_shape(client, server, fmt, sent):
    """What the backend gets is what the openai/vLLM backends pass upstream (and the embedded one decodes under)."""
    _, backend = server
    await client.chat.completions.create(model="echo", messages=USER, response_format=fmt)
    assert backend.calls[0]["sampling"].response_format == sent


async def test_a_format_the_backend_cannot_honour_is_a_400(start):
    from agentforge.runtime.backends.base import UnsupportedRequestError

    class Strict(EchoBackend):
        async def complete(self, messages, tools=None, n=1, sampling=None):
            raise UnsupportedRequestError("response_format schema cannot be enforced: bad keyword; make it non-strict")

    url, _ = await start(backend=Strict())
    assert_error(*await post(url, _body(response_format={"type": "json_object"})), 400, code="unsupported_value")


async def test_a_tool_message_answering_an_earlier_call_passes(server):
    url, backend = server
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [*USER, {"role": "assistant", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "c1", "content": "x"},
                {"role": "user", "content": "and now?"}]
    status, _ = await post(url, _body(messages=messages))
    assert status == 200 and backend.calls[0]["messages"][2].tool_call_id == "c1"


async def test_server_default_max_tokens_is_configurable_and_capped(start):
    url, backend = await start(limits=ServerLimits(default_max_tokens=7))
    await post(url, _body())
    url2, backend2 = await start(limits=ServerLimits(max_tokens=5, default_max_tokens=100))
    await post(url2, _body())
    await post(url2, _body(max_tokens=3))
    assert [c["sampling"].max_tokens for c in (*backend.calls, *backend2.calls)] == [7, 5, 3]


async def test_a_model_answers_to_the_spec_it_was_started_with(start):
    url, backend = await start(aliases={"openai:echo@http://up/v1": "echo", "echo": "echo", "x": "gone"})
    c = openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    try:
        r = await c.chat.completions.create(model="openai:echo@http://up/v1", messages=USER)
        assert r.choices[0].message.content == "echo[0]: hello there"
        listed = {m.id: m.model_extra.get("root") for m in (await c.models.list()).data}
        assert listed == {"echo": None, "openai:echo@http://up/v1": "echo"}  # an alias of nothing served is dropped
        assert (await c.models.retrieve("openai:echo@http://up/v1")).id == "openai:echo@http://up/v1"
        r = await c.chat.completions.create(model="openai:echo@http://up/v1@best-of-2:vote", messages=USER)
        assert r.choices[0].message.content.startswith("echo[")  # virtual models over the alias too
        with pytest.raises(openai.NotFoundError, match="openai:echo@http://up/v1"):  # the 404 lists the aliases
            await c.chat.completions.create(model="nope", messages=USER)
    finally:
        await c.close()


async def test_health_reports_each_model_and_one_on_request(server):
    url, _ = server
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/health") as r:
            assert r.status == 200 and await r.json() == {"status": "ok", "models": {"echo": "ok"}}
        async with s.get(url + "/health?model=echo") as r:
            assert r.status == 200 and await r.json() == {"model": "echo", "status": "ok"}
        async with s.get(url + "/health?model=nope") as r:
            assert_error(r.status, await r.json(), 404, code="model_not_found")
