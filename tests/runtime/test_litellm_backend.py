"""LiteLLMBackend against our own endpoint (LiteLLM's `openai/<model>` route).

Behind the endpoint sits `EchoBackend`, a deterministic test double standing
in for a model. Importing litellm takes seconds, paid once for this module.
"""

from __future__ import annotations

import pytest

from agentforge.runtime.backends.base import BackendError, TransientBackendError
from agentforge.runtime.backends.litellm_backend import LiteLLMBackend
from agentforge.runtime.backends.openai_backend import RetriesExhaustedError
from agentforge.runtime.messages import Message, Sampling, ToolSpec
from agentforge.serving.server import make_app, start_server
from tests.fakes.echo_backend import EchoBackend

WEATHER = ToolSpec.model_validate({"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})


@pytest.fixture
async def served():
    fake = EchoBackend()
    runner, port = await start_server(make_app({"echo": fake}))
    yield f"http://127.0.0.1:{port}/v1", fake
    await runner.cleanup()


def backend(url, model="openai/echo", **kw):
    return LiteLLMBackend(model, api_base=url, api_key="k", backoff_base=0.001, backoff_max=0.01, **kw)


async def test_text_n_and_logprobs(served):
    url, fake = served
    b = backend(url)
    out = await b.complete([Message.user("hello")], n=2,
                           sampling=Sampling(temperature=0.4, logprobs=True, top_logprobs=2, seed=3))
    assert [c.content for c in out] == ["echo[0]: hello", "echo[1]: hello"]
    assert "".join(t.token for t in out[1].logprobs) == "echo[1]: hello"
    assert len(out[0].logprobs[0].top) == 2
    s = fake.calls[0]["sampling"]
    assert fake.calls[0]["n"] == 2 and (s.temperature, s.seed, s.top_logprobs) == (0.4, 3, 2)
    assert b.name == "openai/echo"


async def test_tool_calls_and_stream(served):
    url, _ = served
    b = backend(url)
    msgs = [Message.user("call get_weather city=Lima")]
    (c,) = await b.complete(msgs, tools=[WEATHER])
    assert c.finish_reason == "tool_calls" and c.tool_calls[0].parsed_arguments() == {"city": "Lima"}
    assert "<tool_call>" in c.text
    events = [e async for e in b.stream(msgs, tools=[WEATHER])]
    assert events[-1].completion.tool_calls[0].name == "get_weather"


async def test_errors(served):
    url, _ = served
    with pytest.raises(BackendError, match="404") as e:
        await backend(url, "openai/unknown").complete([Message.user("x")])
    assert not isinstance(e.value, TransientBackendError)
    with pytest.raises(RetriesExhaustedError, match="2 attempts"):
        await backend(url, max_retries=1).complete([Message.user("fail transient")])
