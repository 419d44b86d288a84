"""The Router backend and router files, and the `router` model through the plain
`openai` client against a real in-process server.

Fast tests use tests/fakes/scripted_backend.py as the base model: a double
whose answer names the specialist that asked (by its system prompt), so a test
can see where each request went. The last test runs the real embedded model."""

from __future__ import annotations

import json

import openai
import pytest

from agentforge.routing import Router, RoutingError, load_router
from agentforge.routing.policy import Decision, FixedPolicy
from agentforge.runtime.messages import Message, ToolSpec
from agentforge.serving.server import make_app, start_server
from tests.fakes.scripted_backend import ScriptedBackend

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TOOL = ToolSpec.model_validate(WEATHER_TOOL)


def by_system_prompt(messages, tools, index):
    """caller's answer is a call; chatter's is text saying who answered."""
    who = messages[0].content if messages and messages[0].role == "system" else "nobody"
    if who == "caller":
        return "", [("get_weather", {"city": "Paris"})]
    return f"{who} here", []


def router_file(tmp_path, policy: dict | None = None) -> dict:
    spec = {
        "name": "router",
        "specialists": [
            {"name": "caller", "model": "base", "system_prompt": "caller", "tool_choice": "required",
             "description": "calls tools"},
            {"name": "chatter", "model": "base", "system_prompt": "chatter", "tool_choice": "auto",
             "description": "talks"},
        ],
        "policy": policy or {"kind": "rule", "default": "caller",
                             "rules": [{"when": "desc_overlap < 0.2", "use": "chatter"}]},
    }
    return spec


async def test_each_request_goes_where_the_policy_says_and_is_recorded(tmp_path):
    base = ScriptedBackend(by_system_prompt)
    router = await load_router(router_file(tmp_path), {"base": base})
    ask = [Message.user("What's the weather in Paris?")]
    [done] = await router.complete(ask, [TOOL])
    assert done.tool_calls[0].function.name == "get_weather"
    routing = done.metadata["routing"]
    assert (routing["specialist"], routing["policy"], routing["rule"]) == ("caller", "rule", None)
    assert routing["reason"] == "no rule matched: default" and routing["features"]["n_tools"] == 1
    [chat] = await router.complete([Message.user("Tell me a joke")], [TOOL])
    assert chat.content == "chatter here" and chat.metadata["routing"]["specialist"] == "chatter"
    # the specialist's overrides reached the base model
    assert [s.tool_choice for _, s in base.requests] == ["required", "auto"]
    events = [e async for e in router.stream([Message.user("Tell me a joke")], [TOOL], n=2)]
    finals = [e.completion for e in events if e.completion is not None]
    assert len(finals) == 2 and all(c.metadata["routing"]["specialist"] == "chatter" for c in finals)


async def test_specialists_naming_one_model_share_one_backend_and_the_router_closes_only_its_own(tmp_path):
    made = []

    async def make(spec):
        backend = ScriptedBackend(by_system_prompt, name=spec)
        made.append(backend)
        return backend

    path = tmp_path / "router.toml"
    path.write_text("""
name = "team"
[[specialists]]
name = "caller"
model = "fake:model"
system_prompt = "caller"
[[specialists]]
name = "chatter"
model = "fake:model"
[[specialists]]
name = "voter"
model = "served@best-of-3:vote"
[policy]
kind = "fixed"
specialist = "voter"
""")
    served = ScriptedBackend(lambda m, t, i: ("voted", []), name="served")
    router = await load_router(path, {"served": served}, make=make)
    assert router.name == "team" and len(made) == 1 and router.specialists["caller"].base is router.specialists["chatter"].base is made[0]
    [c] = await router.complete([Message.user("hi")])
    assert c.content == "voted" and c.metadata["selection"]["n"] == 3  # a best-of-N specialist of a served model
    closed = []
    made[0].aclose = lambda: closed.append("made") or _noop()
    served.aclose = lambda: closed.append("served") or _noop()
    await router.aclose()
    assert closed == ["made"]


async def _noop():
    return None


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s["policy"].update(default="nobody"), "unknown specialist 'nobody'"),
    (lambda s: s["policy"]["rules"].append({"when": "overlap > 1", "use": "chatter"}), "unknown feature 'overlap'"),
    (lambda s: s.update(policy={"kind": "magic"}), "policy: Input tag 'magic'"),
    (lambda s: s["specialists"][0].update(temprature=0), "specialists.0.temprature: Extra inputs"),
    (lambda s: s["specialists"].append(dict(s["specialists"][0])), "two specialists are named 'caller'"),
    (lambda s: s.update(specialists=[]), "specialists: List should have at least 1 item"),
    (lambda s: s.update(policy={"kind": "learned", "file": "missing.json"}), "missing.json: no such file"),
    (lambda s: s.update(policy={"kind": "fixed", "specialist": "poet"}), "unknown specialist 'poet'"),
])
async def test_bad_router_definitions_fail_with_what_to_fix(tmp_path, mutate, message):
    spec = router_file(tmp_path)
    mutate(spec)
    with pytest.raises(RoutingError, match=message):
        await load_router(spec, {"base": ScriptedBackend(by_system_prompt)})


async def test_bad_router_files_and_models(tmp_path):
    with pytest.raises(RoutingError, match="no such router file"):
        await load_router(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(RoutingError, match="not valid TOML"):
        await load_router(bad)
    learned = tmp_path / "learned.json"
    learned.write_text(json.dumps({"kind": "learned", "format": 1}))
    with pytest.raises(RoutingError, match="is a learned policy, not a router file"):
        await load_router(learned)
    spec = router_file(tmp_path)
    spec["specialists"][1]["model"] = "nosuch:thing"
    with pytest.raises(RoutingError, match="specialist 'chatter': model 'nosuch:thing' is not one of the served "
                                           "models \\(base\\), and unknown backend spec.*accepted backend specs"):
        await load_router(spec, {"base": ScriptedBackend(by_system_prompt)})


async def test_a_policy_that_picks_a_stranger_is_a_bug_caught_loudly():
    class Rogue(FixedPolicy):
        async def choose(self, messages, tools, features):
            return Decision("stranger", "fixed", "oops")

    router = Router("r", {"a": ScriptedBackend(by_system_prompt)}, Rogue(["a"], "a"))
    with pytest.raises(RoutingError, match="unknown specialist 'stranger'"):
        await router.complete([Message.user("hi")])
    with pytest.raises(RoutingError, match="can choose 'b'"):
        Router("r", {"a": ScriptedBackend(by_system_prompt)}, FixedPolicy(["a", "b"], "b"))


@pytest.fixture
async def serve():
    runners = []

    async def start(backends):
        runner, port = await start_server(make_app(backends))
        runners.append(runner)
        return openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_the_router_through_the_openai_client(serve, tmp_path):
    router = await load_router(router_file(tmp_path), {"base": ScriptedBackend(by_system_prompt)})
    client = await serve({"router": router})
    call = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL],
                                                messages=[{"role": "user", "content": "Weather in Paris, please?"}])
    assert call.model == "router" and call.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.choices[0].message.tool_calls[0].function.arguments) == {"city": "Paris"}
    routing = call.model_extra["agentforge"]["routing"]  # the decision, in the server's documented extra field
    assert (routing["specialist"], routing["policy"]) == ("caller", "rule") and "features" in routing
    chat = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL],
                                                messages=[{"role": "user", "content": "Tell me a joke"}])
    assert chat.choices[0].message.content == "chatter here"
    stream = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL], stream=True,
                                                  messages=[{"role": "user", "content": "Tell me a joke"}])
    text, extra = "", None
    async for chunk in stream:
        text += "".join(c.delta.content or "" for c in chunk.choices)
        extra = (chunk.model_extra or {}).get("agentforge", extra)
    assert text == "chatter here" and extra["routing"]["specialist"] == "chatter"
    # an agent's next step (a tool result came back) is routed afresh
    step = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "18 C and sunny"}])
    assert step.choices[0].message.tool_calls  # still about the weather tool: the caller again


@pytest.mark.model
async def test_a_router_over_the_real_embedded_model_through_the_openai_client(serve, embedded, tmp_path):
    spec = {
        "specialists": [
            {"name": "caller", "model": "embedded", "tool_choice": "required", "constrained": True,
             "temperature": 0, "max_tokens": 48},
            {"name": "chatter", "model": "embedded", "tool_choice": "auto", "temperature": 0, "max_tokens": 16,
             "system_prompt": "Answer in one short sentence. Do not call any function."},
        ],
        "policy": {"kind": "rule", "default": "caller", "rules": [{"when": "desc_overlap < 0.2", "use": "chatter"}]},
    }
    router = await load_router(spec, {"embedded": embedded})
    client = await serve({"router": router})
    call = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL],
                                                messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    [tool_call] = call.choices[0].message.tool_calls  # the grammar makes it a well-formed call of the one tool
    assert tool_call.function.name == "get_weather" and "city" in json.loads(tool_call.function.arguments)
    chat = await client.chat.completions.create(model="router", tools=[WEATHER_TOOL],
                                                messages=[{"role": "user", "content": "Tell me a joke about cats."}])
    assert chat.choices[0].message.content and not chat.choices[0].message.tool_calls
    assert chat.model_extra["agentforge"]["routing"]["specialist"] == "chatter"
    assert chat.usage.completion_tokens <= 16  # the chatter's own token limit
