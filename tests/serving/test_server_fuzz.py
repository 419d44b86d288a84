"""Fuzzing the OpenAI-compatible endpoint: random bodies never get a 5xx, and every
request valid under the published OpenAPI description gets a 200, except those that
break one of the cross-field rules listed in `refusal_rule` (then exactly that 4xx).
The model behind it is `EchoBackend`, a deterministic test double."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agentforge.serving.chat_request import MAX_SCHEMA_DEPTH, nesting_depth
from agentforge.serving.server import ServerLimits, make_app, openapi_spec, start_server
from tests.fakes.echo_backend import EchoBackend

FUZZ_LIMITS = ServerLimits(max_n=4)


def _serve_in_a_thread(make_app_):
    """An app on its own event loop in a thread, so hypothesis can drive it synchronously."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def up():
        box["runner"], box["port"] = await start_server(make_app_())
        ready.set()

    t = threading.Thread(target=lambda: (loop.run_until_complete(up()), loop.run_forever()), daemon=True)
    t.start()
    assert ready.wait(10)
    yield box["port"]
    asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)


@pytest.fixture(scope="module")
def threaded_server():
    yield from _serve_in_a_thread(lambda: make_app({"echo": EchoBackend()}, (), FUZZ_LIMITS))


@pytest.fixture(scope="module")
def refusing_server():
    """A server that answers every request with a well-formed 400: what the schema fuzz must catch."""
    from aiohttp import web

    async def refuse(request):
        return web.json_response({"error": {"message": "no", "type": "invalid_request_error", "param": None,
                                            "code": "invalid_value"}}, status=400)

    def app():
        a = web.Application()
        a.router.add_post("/v1/chat/completions", refuse)
        return a

    yield from _serve_in_a_thread(app)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", "developer", "bot", ""])
messages = st.lists(st.fixed_dictionaries({"role": roles}, optional={
    "content": st.one_of(st.text(max_size=30), json_values),
    "tool_calls": json_values, "tool_call_id": json_values}), max_size=3)
near_valid = st.fixed_dictionaries(
    {"model": st.sampled_from(["echo", "other"]) | json_values, "messages": messages | json_values},
    optional={key: json_values | st.integers(-2, 30) for key in (
        "n", "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "seed", "stop",
        "logprobs", "top_logprobs", "stream", "stream_options", "tools", "tool_choice", "return_token_ids")})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=near_valid | json_values)
def test_fuzz_no_server_errors(threaded_server, body):
    conn = http.client.HTTPConnection("127.0.0.1", threaded_server, timeout=10)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    assert r.status < 500, data[:500]
    if r.status >= 400:
        assert set(json.loads(data)["error"]) == {"message", "type", "param", "code"}


def _openapi_strategy(schema_name: str):
    """Bodies valid under the OpenAPI description the fuzzed server publishes (hypothesis-jsonschema reads it)."""
    from hypothesis_jsonschema import from_schema

    components = openapi_spec(False, FUZZ_LIMITS)["components"]
    return from_schema({"$ref": f"#/components/schemas/{schema_name}", "components": components})


def _post(port: int, body: object, headers: dict | None = None) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Content-Type") or ""
    finally:
        conn.close()


MODELS = st.sampled_from(["echo", "echo@best-of-2:vote", "echo@best-of-3:confidence", "echo@best-of-99:vote",
                          "missing"])
SCHEMA_VALID = st.tuples(_openapi_strategy("ChatRequest"), MODELS).map(lambda bm: {**bm[0], "model": bm[1]})


def refusal_rule(body: dict) -> tuple[int, str] | None:
    """The rules the OpenAPI schema cannot express, as (status, param) of the refusal, in the
    order the server applies them; None: the request is valid and must be answered (200)."""
    tools = body.get("tools") or []
    names = {t["function"]["name"] for t in tools}
    if any(not name.strip() for name in names):
        return 400, "tools"  # a tool needs a non-empty name
    if any(nesting_depth(t["function"].get("parameters")) > MAX_SCHEMA_DEPTH for t in tools):
        return 400, "tools"
    if nesting_depth(((body.get("response_format") or {}).get("json_schema") or {}).get("schema")) > MAX_SCHEMA_DEPTH:
        return 400, "response_format"
    if body.get("top_logprobs") and not body.get("logprobs"):
        return 400, "top_logprobs"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice["function"]["name"] not in names:
        return 400, "tool_choice"
    if choice == "required" and not names:
        return 400, "tool_choice"
    forced = choice == "required" or isinstance(choice, dict)
    if forced and (body.get("response_format") or {}).get("type", "text") != "text":
        return 400, "response_format"  # the format shapes content that a forced call leaves no room for
    called: set[str] = set()
    for i, m in enumerate(body["messages"]):
        called.update(c.get("id") for c in m.get("tool_calls") or [] if m["role"] == "assistant")  # no id: one is made up
        if m["role"] == "tool" and m["tool_call_id"] not in called:
            return 400, f"messages.{i}"  # a tool message answers a call an earlier assistant message made
    if body["model"] == "missing":
        return 404, "model"
    if body["model"] == "echo@best-of-99:vote":
        return 400, "model"  # N above this server's max_n
    best_of = {"echo@best-of-2:vote": 2, "echo@best-of-3:confidence": 3}.get(body["model"])
    if best_of is not None and body.get("n", 1) > best_of:
        return 400, "n"  # a best-of-N model returns at most N choices
    return None


def check_schema_valid_answer(port: int, body: dict) -> None:
    status, data, ctype = _post(port, body)
    rule = refusal_rule(body)
    if rule is not None:
        assert (status, json.loads(data)["error"]["param"]) == rule, data[:500]
        return
    assert status == 200, f"schema-valid request refused: {status} {data[:500]!r}"
    if body.get("stream"):
        assert ctype.startswith("text/event-stream") and data.rstrip().endswith(b"data: [DONE]")
        chunks = [json.loads(line[6:]) for line in data.decode().splitlines()
                  if line.startswith("data: {")]
        assert all("error" not in c for c in chunks), chunks[-1]
        finished = {ch["index"] for c in chunks for ch in c["choices"] if ch["finish_reason"]}
        assert finished == set(range(body.get("n", 1)))
    else:
        answer = json.loads(data)
        assert answer["object"] == "chat.completion" and len(answer["choices"]) == body.get("n", 1)


# generating from the schema costs ~0.1-0.3 s an example on 2 cores: keep the counts modest
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=SCHEMA_VALID)
def test_fuzz_schema_valid_requests_are_answered(threaded_server, body):
    """Every request the OpenAPI description allows gets a 200 with a well-formed answer,
    unless it breaks one of the rules in refusal_rule, and then exactly that refusal."""
    check_schema_valid_answer(threaded_server, body)


def test_the_schema_fuzz_fails_against_a_server_that_refuses_everything(refusing_server):
    # no shrinking: any valid request it finds refused is enough
    @settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @given(body=SCHEMA_VALID.filter(lambda body: refusal_rule(body) is None))
    def fuzz(body):
        check_schema_valid_answer(refusing_server, body)

    with pytest.raises(AssertionError, match="schema-valid request refused: 400"):
        fuzz()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_openapi_strategy("ChatRequest"), field=st.sampled_from(sorted(
    openapi_spec()["components"]["schemas"]["ChatRequest"]["properties"])), value=json_values)
def test_fuzz_one_field_broken_gets_a_4xx_not_a_crash(threaded_server, body, field, value):
    status, data, _ = _post(threaded_server, {**body, "model": "echo", field: value})
    assert status < 500, data[:500]
