"""A specialist is its base model plus a system prompt and sampling overrides.
The base is tests/fakes/echo_backend.py: a double that records exactly what it
was asked, which is the thing under test here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentforge.routing.specialist import Specialist, SpecialistSpec
from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec
from tests.fakes.echo_backend import EchoBackend

TOOLS = [ToolSpec(function=FunctionSpec(name="get_weather"))]


def make(**fields) -> tuple[Specialist, EchoBackend]:
    base = EchoBackend()
    return Specialist(SpecialistSpec(name="s", model="echo", **fields), base), base


async def test_system_prompt_goes_first_and_keeps_the_clients():
    spec, base = make(system_prompt="Call exactly one function.")
    await spec.complete([Message.user("hi")])
    await spec.complete([Message.system("Answer in French."), Message.user("hi")])
    first, second = (c["messages"] for c in base.calls)
    assert [(m.role, m.content) for m in first] == [("system", "Call exactly one function."), ("user", "hi")]
    assert second[0].content == "Call exactly one function.\n\nAnswer in French." and len(second) == 2


async def test_sampling_overrides_and_what_the_client_keeps():
    spec, base = make(tool_choice="required", constrained=True, parallel_tool_calls=False, temperature=0,
                      max_tokens=64, extra_body={"x": 1})
    client = Sampling(temperature=0.7, top_p=0.9, max_tokens=512, seed=3, extra_body={"return_token_ids": True})
    await spec.complete([Message.user("hi")], TOOLS, 1, client)
    s = base.calls[-1]["sampling"]
    assert (s.tool_choice, s.temperature, s.top_p, s.max_tokens, s.seed) == ("required", 0, 0.9, 64, 3)
    assert s.extra_body == {"return_token_ids": True, "x": 1, "constrained": True, "parallel_tool_calls": False}
    # a client's "none" or named function is a hard constraint: kept
    named = {"type": "function", "function": {"name": "get_weather"}}
    for choice in ("none", named):
        await spec.complete([Message.user("hi")], TOOLS, 1, client.merged(tool_choice=choice))
        assert base.calls[-1]["sampling"].tool_choice == choice
    # without tools there is nothing to require
    await spec.complete([Message.user("hi")], None, 1, client)
    assert base.calls[-1]["sampling"].tool_choice is None


async def test_streaming_passes_through_with_the_same_request():
    spec, base = make(system_prompt="sp", temperature=0)
    events = [e async for e in spec.stream([Message.user("hello")])]
    assert events[-1].completion.content == "echo[0]: hello"
    assert base.calls[-1]["stream"] and base.calls[-1]["messages"][0].content == "sp"


def test_bad_specs_are_rejected_with_the_field_named():
    with pytest.raises(ValidationError, match="tool_choice"):
        SpecialistSpec(name="s", model="m", tool_choice="sometimes")
    with pytest.raises(ValidationError, match="temprature"):
        SpecialistSpec(name="s", model="m", temprature=0)  # a typo is an error, not silently ignored
    with pytest.raises(ValidationError, match="name"):
        SpecialistSpec(name="has space", model="m")
