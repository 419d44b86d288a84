"""The real thing end to end: `agent serve`'s app backed by the embedded
SmolLM2 model, reached through our `openai` backend and the official client."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time

import aiohttp
import openai
import pytest

from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec
from agentforge.serving.server import make_app, start_server

pytestmark = pytest.mark.model

KEY = "sk-test-embedded"
WEATHER = ToolSpec(
    function=FunctionSpec(
        name="get_weather",
        description="Get the weather in a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
)


@pytest.fixture
async def url(embedded):
    runner, port = await start_server(make_app({embedded.name: embedded}, api_keys=[KEY]), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def test_openai_backend_through_the_server_matches_the_model(embedded, url):
    backend = OpenAIBackend(embedded.name, base_url=url, api_key=KEY, max_retries=0)
    s = Sampling(temperature=0, max_tokens=12, logprobs=True, top_logprobs=5, extra_body={"return_token_ids": True})
    try:
        [remote] = await backend.complete([Message.user("Name a color.")], sampling=s)
    finally:
        await backend.aclose()
    [local] = await embedded.complete([Message.user("Name a color.")], sampling=s)
    assert remote.text == local.text and remote.token_ids == local.token_ids
    # Same tokens; logprobs equal up to float rounding (the second request reuses
    # the first one's cached prefix, so its matmuls run in other shapes).
    assert [t.logprob for t in remote.logprobs] == pytest.approx([t.logprob for t in local.logprobs], abs=1e-4)
    assert len(remote.logprobs[0].top) == 5


async def test_tools_n_and_streaming_with_the_official_client(embedded, url):
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    try:
        resp = await client.chat.completions.create(
            model=embedded.name,
            messages=[{"role": "user", "content": "Use get_weather for Paris."}],
            tools=[WEATHER.model_dump()],
            tool_choice="required",
            n=2,
            temperature=0.7,
            seed=3,
            max_tokens=30,
        )
        assert len(resp.choices) == 2
        for choice in resp.choices:
            if choice.message.tool_calls:
                assert choice.finish_reason == "tool_calls"
                assert choice.message.tool_calls[0].function.name
        stream = await client.chat.completions.create(
            model=embedded.name,
            messages=[{"role": "user", "content": "Say hi."}],
            temperature=0,
            max_tokens=8,
            stream=True,
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        [direct] = await embedded.complete([Message.user("Say hi.")], sampling=Sampling(temperature=0, max_tokens=8))
        assert text == direct.text
        with pytest.raises(openai.AuthenticationError):
            await openai.AsyncOpenAI(base_url=url, api_key="wrong", max_retries=0).models.list()
    finally:
        await client.close()


async def test_concurrent_requests_are_batched(embedded, url):
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    try:
        steps_before = embedded.engine.steps
        tasks = [
            client.chat.completions.create(
                model=embedded.name, messages=[{"role": "user", "content": f"Count to {i + 3}."}], temperature=0, max_tokens=16
            )
            for i in range(4)
        ]
        results = await asyncio.gather(*tasks)
        generated = sum(r.usage.completion_tokens for r in results)
        # Batched: far fewer decode steps than tokens generated.
        assert embedded.engine.steps - steps_before < 0.6 * generated
    finally:
        await client.close()


async def test_best_of_n_virtual_model_on_the_real_model(embedded, url):
    """Four real candidates in one batched request; the answer is the most confident one."""
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    name = f"{embedded.name}@best-of-4:confidence"
    r = await client.chat.completions.create(model=name, messages=[{"role": "user", "content": "Name a fruit."}],
                                             max_tokens=8, temperature=1.0, seed=3)
    selection = r.model_extra["agentforge"]["selection"]
    assert r.model == name and len(r.choices) == 1 and selection["n"] == 4
    confidences = selection["confidence"]
    assert all(c is not None for c in confidences)
    assert confidences[selection["chosen"]] == max(confidences)
    assert selection["completion_tokens"] >= r.usage.completion_tokens


async def test_health_answers_while_a_huge_prompt_is_rendered_and_tokenized(embedded, url):
    """The review's attack: a 4 MB prompt. Rendering and tokenizing it takes seconds (5 s in
    the review, 12 s on a loaded 2-core machine), and /health froze for as long while that
    ran on the event loop. The prompt is then refused as longer than the context, which is
    the engine's part (tested there): here only the loop's responsiveness is measured."""
    host, port = url.removeprefix("http://").removesuffix("/v1").split(":")
    body = json.dumps({"model": embedded.name, "max_tokens": 1,
                       "messages": [{"role": "user", "content": "hello world, this is a test. " * 140_000}]})
    latencies: list[float] = []
    done = threading.Event()

    def poll_health() -> None:  # another client, on its own thread: it sees what the server's loop does
        while not done.is_set():
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            conn.request("GET", "/health")
            assert conn.getresponse().status == 200
            conn.close()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        async with aiohttp.ClientSession() as s:
            started = time.perf_counter()
            async with s.post(url + "/chat/completions", data=body,
                              headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}) as r:
                await r.read()
            took = time.perf_counter() - started
    finally:
        done.set()
        await asyncio.to_thread(poller.join, 60)
    assert took > 1.0, "the huge prompt was handled too fast to measure anything"
    assert max(latencies) < 1.0, f"/health took {max(latencies):.1f} s while the prompt ({took:.1f} s) was tokenized"


async def test_a_deeply_nested_tool_schema_is_a_400_on_the_real_model(embedded, url):
    schema: dict = {"type": "string"}
    for _ in range(400):
        schema = {"type": "object", "properties": {"a": schema}}
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    try:
        with pytest.raises(openai.BadRequestError, match="nests objects and arrays 801 levels deep"):
            await client.chat.completions.create(
                model=embedded.name, messages=[{"role": "user", "content": "hi"}], max_tokens=4,
                tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}])
    finally:
        await client.close()


# ---------------------------------------------------------------- response_format, default max_tokens (issue 15)

PERSON = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string", "maxLength": 24}, "age": {"type": "integer", "minimum": 0},
                         "hobby": {"type": "string", "enum": ["chess", "tennis", "reading"]}}}


async def test_json_mode_returns_parseable_json(embedded, url):
    """Under response_format the answer is a JSON object (the grammar allows nothing else) and the
    turn ends when it closes. (Greedy, this model can also loop inside an object on other prompts, e.g.
    "describe a cat", until max_tokens cuts it: JSON mode bounds the shape, not the length.)"""
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    messages = [{"role": "user", "content": "Return the weather in Paris as JSON with keys city and temp_c."}]
    try:
        r = await client.chat.completions.create(model=embedded.name, messages=messages, temperature=0,
                                                 max_tokens=120, response_format={"type": "json_object"})
        assert r.choices[0].finish_reason == "stop", r.choices[0].message.content
        assert isinstance(json.loads(r.choices[0].message.content), dict)
        stream = await client.chat.completions.create(model=embedded.name, messages=messages, temperature=0,
                                                      max_tokens=120, stream=True,
                                                      response_format={"type": "json_object"})
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert json.loads(text) == json.loads(r.choices[0].message.content)
    finally:
        await client.close()


async def test_schema_mode_validates_against_the_schema(embedded, url):
    import jsonschema  # the dev extra
    client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
    try:
        r = await client.chat.completions.create(
            model=embedded.name, n=4, temperature=0.9, seed=11, max_tokens=80,
            messages=[{"role": "user", "content": "Describe Ann, 31, who likes chess, as JSON."}],
            response_format={"type": "json_schema",
                             "json_schema": {"name": "person", "strict": True, "schema": PERSON}})
        for choice in r.choices:
            assert choice.finish_reason == "stop", choice.message.content
            jsonschema.validate(json.loads(choice.message.content), PERSON)
    finally:
        await client.close()


async def test_a_request_without_max_tokens_stops_at_the_end_token_or_the_server_default(embedded):
    """The review's 100 s "hi": greedy, the model ends its turn on its own; sampled at temperature 1 it
    may ramble, and then the server's default (here 16) ends it, not 8192 tokens."""
    from agentforge.serving.limits import ServerLimits

    runner, port = await start_server(make_app({embedded.name: embedded}, limits=ServerLimits(default_max_tokens=16)))
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    try:
        r = await client.chat.completions.create(model=embedded.name, messages=[{"role": "user", "content": "hi"}],
                                                 temperature=0)
        assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens < 16
        r = await client.chat.completions.create(model=embedded.name, messages=[{"role": "user", "content": "hi"}],
                                                 temperature=1.0, n=8, seed=1)
        assert all(c.finish_reason in ("stop", "length") for c in r.choices)
        assert r.usage.completion_tokens <= 8 * 16
    finally:
        await client.close()
        await runner.cleanup()
