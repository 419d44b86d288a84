"""`MODEL@best-of-N:SELECTOR` virtual models: the backend wrapper, and the real
HTTP endpoint through the official `openai` client. The upstream model is
scripted (tests/fakes/scripted_backend.py): candidate i carries logprob
-0.1*(i+1) per token against a -3.0 alternative, so token confidence grows with
i and average logprob falls with it — each selector's pick is known."""

from __future__ import annotations

import json

import openai
import pytest

from agentforge.runtime.messages import Message
from agentforge.serving.server import make_app, start_server
from agentforge.selectors.best_of_n import BestOfN, VirtualModelError, completion_answer, parse_virtual_model
from tests.fakes.scripted_backend import ScriptedBackend

ANSWERS = ["Paris", "Paris", " Paris ", "Lyon", "Nice"]  # majority: Paris (after whitespace normalization)


def texts(messages, tools, index):
    return ANSWERS[index], []


def calls(messages, tools, index):
    city = ["Paris", "Paris ", "Lyon", "Paris", "Nice"][index]
    return "", [("get_weather", {"city": city, "unit": "c"} if index % 2 else {"unit": "c", "city": city})]


def test_names_parse_and_bad_ones_say_what_to_do():
    assert parse_virtual_model("agentforge-8b@best-of-8:confidence") == ("agentforge-8b", 8, "confidence")
    assert parse_virtual_model("org/model@v2@best-of-3:vote") == ("org/model@v2", 3, "vote")
    assert parse_virtual_model("plain-model") is None
    with pytest.raises(VirtualModelError, match="unknown selector 'magic'.*confidence"):
        parse_virtual_model("m@best-of-4:magic")
    with pytest.raises(VirtualModelError, match="unknown selector 'oracle'"):
        parse_virtual_model("m@best-of-4:oracle")  # needs the answer key
    with pytest.raises(VirtualModelError, match="between 1 and 16"):
        parse_virtual_model("m@best-of-17:vote", max_n=16)


async def test_each_selector_picks_what_its_formula_says():
    upstream = ScriptedBackend(texts)
    msgs = [Message.user("capital of France?")]
    picks = {}
    for selector in ("vote", "confidence", "avg_logprob", "first"):
        [chosen] = await BestOfN(upstream, 5, selector).complete(msgs)
        picks[selector] = (chosen.content, chosen.metadata["selection"]["chosen"])
    assert picks == {"vote": ("Paris", 0), "confidence": ("Nice", 4), "avg_logprob": ("Paris", 0),
                     "first": ("Paris", 0)}
    # one upstream request with n=5, logprobs on for the confidence selectors only
    assert [n for n, _ in upstream.requests] == [5, 5, 5, 5]
    assert [s.top_logprobs for _, s in upstream.requests] == [0, 20, 20, 0]


async def test_ranking_gives_several_choices_and_details():
    best = BestOfN(ScriptedBackend(texts), 5, "confidence")
    chosen = await best.complete([Message.user("q")], n=3)
    assert [c.content for c in chosen] == ["Nice", "Lyon", " Paris "]
    details = chosen[0].metadata["selection"]
    assert details["votes"] == [3, 3, 3, 1, 1] and details["n"] == 5 and details["completion_tokens"] == 25
    assert details["confidence"] == sorted(details["confidence"])  # grows with the index, by construction
    with pytest.raises(VirtualModelError, match="at most 5"):
        await best.complete([Message.user("q")], n=6)
    with pytest.raises(VirtualModelError, match="picks one candidate"):
        await BestOfN(ScriptedBackend(texts), 5, "first").complete([Message.user("q")], n=2)


def test_tool_call_answers_ignore_argument_order_and_spacing():
    from agentforge.runtime.messages import Completion, FunctionCall, ToolCall

    def completion(args: str) -> Completion:
        return Completion(text="", tool_calls=[ToolCall(function=FunctionCall(name="f", arguments=args))])

    assert completion_answer(completion('{"a": "x  y", "b": 1}')) == completion_answer(completion('{"b":1,"a":"x y"}'))
    assert completion_answer(completion('{"a": 1}')) != completion_answer(completion('{"a": 2}'))


@pytest.fixture
async def server():
    runners = []

    async def start(reply):
        runner, port = await start_server(make_app({"scripted": ScriptedBackend(reply)}))
        runners.append(runner)
        return openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_openai_client_gets_the_selected_text_and_the_selection_field(server):
    client = await server(texts)
    vote = await client.chat.completions.create(model="scripted@best-of-5:vote", messages=[{"role": "user", "content": "q"}])
    assert vote.model == "scripted@best-of-5:vote" and [c.message.content for c in vote.choices] == ["Paris"]
    assert vote.model_extra["agentforge"]["selection"]["votes"][0] == 3
    conf = await client.chat.completions.create(model="scripted@best-of-5:confidence",
                                                messages=[{"role": "user", "content": "q"}], n=2)
    assert [c.message.content for c in conf.choices] == ["Nice", "Lyon"]


async def test_tool_calls_through_a_virtual_model(server):
    client = await server(calls)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    r = await client.chat.completions.create(model="scripted@best-of-5:vote", tools=tools,
                                             messages=[{"role": "user", "content": "weather in Paris?"}])
    [call] = r.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"].strip() == "Paris"
    assert r.choices[0].finish_reason == "tool_calls"


async def test_streaming_returns_the_selected_answer_as_sse(server):
    client = await server(texts)
    stream = await client.chat.completions.create(model="scripted@best-of-5:confidence", stream=True,
                                                  messages=[{"role": "user", "content": "q"}])
    text, selection = "", None
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
        selection = (chunk.model_extra or {}).get("agentforge", selection)
    assert text == "Nice" and selection["selection"]["chosen"] == 4


async def test_bad_virtual_names_are_4xx_with_openai_errors(server):
    client = await server(texts)
    msgs = [{"role": "user", "content": "q"}]
    with pytest.raises(openai.BadRequestError, match="unknown selector"):
        await client.chat.completions.create(model="scripted@best-of-5:magic", messages=msgs)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        await client.chat.completions.create(model="nobody@best-of-5:vote", messages=msgs)
    with pytest.raises(openai.BadRequestError, match="at most 3 choices"):
        await client.chat.completions.create(model="scripted@best-of-3:vote", messages=msgs, n=4)
    with pytest.raises(openai.BadRequestError, match="between 1 and 16"):
        await client.chat.completions.create(model="scripted@best-of-99:vote", messages=msgs)


async def test_deepconf_model_stops_sampling_when_the_warmup_agrees(server):
    """`:deepconf` runs DeepConf online: the 2 warm-up candidates agree (Paris, Paris), so the
    other 6 are never sampled."""
    upstream = ScriptedBackend(texts)
    runner, port = await start_server(make_app({"scripted": upstream}))
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
    try:
        r = await client.chat.completions.create(model="scripted@best-of-8:deepconf",
                                                 messages=[{"role": "user", "content": "q"}])
    finally:
        await client.close()
        await runner.cleanup()
    assert r.choices[0].message.content == "Paris"
    selection = r.model_extra["agentforge"]["selection"]
    assert selection["stopped_early"] == 6 and selection["completion_tokens"] == 10 and selection["n"] == 8
    assert [n for n, _ in upstream.requests] == [2]  # one warm-up request, nothing streamed


async def test_best_of_n_is_a_backend_spec_that_owns_its_base():
    """`SPEC@best-of-N:SELECTOR` works wherever a spec does (agent chat, agent bench), over any base spec."""
    from agentforge.runtime.backends import make_backend
    from tests.fakes.echo_backend import EchoBackend

    runner, port = await start_server(make_app({"echo": EchoBackend("echo")}))
    try:
        best = await make_backend(f"openai:echo@http://127.0.0.1:{port}/v1@best-of-3:vote", max_retries=0)
        assert isinstance(best, BestOfN) and best.n == 3 and best.inner.base_url == f"http://127.0.0.1:{port}/v1"
        [c] = await best.complete([Message.user("hi")])
        assert c.content.endswith(": hi") and c.metadata["selection"]["n"] == 3
        await best.aclose()
        assert best.inner.client.is_closed()
        with pytest.raises(ValueError, match="unknown selector"):
            await make_backend("embedded@best-of-3:magic")
    finally:
        await runner.cleanup()
