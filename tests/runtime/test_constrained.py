"""Grammar-constrained tool calls (tool_grammar.py + the embedded engine).

The grammar tests use the real SmolLM2 tokenizer (no model); the `model`
tests sample from the real 135M model, which on its own rarely writes a
valid call: under the grammar every candidate must parse and validate."""

from __future__ import annotations

import asyncio
import json
import math
import random

import llguidance  # noqa: F401  (in the [embedded] extra: its absence is a failure, not a skip)
import pytest

from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.backends.tool_grammar import (
    GrammarCompiler,
    allowed_tokens,
    call_head,
    close_objects,
    constrained_choice,
    tool_call_lark,
)
from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec
from agentforge.runtime.parsing import parse_hermes
from tests.runtime.engine_idle import engine_idle


def tool(name: str, properties: dict, required: list[str]) -> ToolSpec:
    params = {"type": "object", "properties": properties, "required": required}
    return ToolSpec(function=FunctionSpec(name=name, description=f"{name.replace('_', ' ')}.", parameters=params))


# BFCL-sized: typed params of every kind the issue names (int, number, enum, nested object, array).
TOOLS = [
    tool(
        "book_flight",
        {
            "origin": {"type": "string"},
            "destination": {"type": "string"},
            "passengers": {
                "type": "object",
                "properties": {"adults": {"type": "integer"}, "children": {"type": "integer"}},
                "required": ["adults"],
            },
            "cabin": {"type": "string", "enum": ["economy", "business", "first"]},
        },
        ["origin", "destination", "passengers"],
    ),
    tool(
        "calculate_loan",
        {
            "principal": {"type": "number"},
            "years": {"type": "integer"},
            "extra_payments": {"type": "array", "items": {"type": "number"}},
        },
        ["principal", "years"],
    ),
    tool(
        "search_restaurants",
        {
            "city": {"type": "string"},
            "cuisines": {"type": "array", "items": {"type": "string", "enum": ["italian", "thai", "mexican"]}},
            "open_now": {"type": "boolean"},
        },
        ["city"],
    ),
    tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, ["city"]),
]
BY_NAME = {t.function.name: t.function.parameters for t in TOOLS}
PROMPT = [Message.user("Book a flight from Boston to Chicago for 2 adults in business class.")]


def schema_errors(value, schema: dict, path: str = "$") -> list[str]:
    """The JSON-schema keywords our test tools use, checked strictly (unknown keys are errors)."""
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind and not checks[kind](value):
        return [f"{path}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    errors = []
    if kind == "object":
        props = schema.get("properties", {})
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        errors += [f"{path}: unknown key {k}" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                errors += schema_errors(v, props[k], f"{path}.{k}")
    if kind == "array" and "items" in schema:
        for i, v in enumerate(value):
            errors += schema_errors(v, schema["items"], f"{path}[{i}]")
    return errors


def call_problems(text: str, allowed: set[str]) -> list[str]:
    """Why `text` is not well-formed Hermes calls of `allowed` tools with valid arguments ([] if it is)."""
    turn = parse_hermes(text)
    problems = list(e.message for e in turn.errors)
    if not turn.tool_calls:
        problems.append("no tool call")
    for call in turn.tool_calls:
        if call.name not in allowed:
            problems.append(f"unknown tool {call.name!r}")
            continue
        try:
            problems += schema_errors(call.parsed_arguments(), BY_NAME[call.name])
        except ValueError as e:
            problems.append(f"arguments are not JSON: {e}")
    return problems


# ---------------------------------------------------------------- grammar (tokenizer only)


@pytest.fixture(scope="module")
def compiler(checkpoint_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_dir)
    return GrammarCompiler(tok, len(tok), [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id])


def encode(compiler: GrammarCompiler, text: str) -> list[int]:
    return compiler.tokenizer.tokenize_str(text)


def accepts(compiler: GrammarCompiler, choice: str, text: str, parallel: bool = True) -> bool:
    """Whether the grammar accepts `text` as a whole turn."""
    [c] = compiler.get(TOOLS, choice, parallel).constraints(1)
    return all(c.consume(t) for t in encode(compiler, text)) and c.matcher.is_accepting()


def hermes(name: str, args: dict) -> str:
    return f"{call_head(name)}{json.dumps(args)}}}\n</tool_call>"


def test_choice_decides_whether_decoding_is_constrained():
    assert constrained_choice(TOOLS, "required") == ""
    assert constrained_choice(TOOLS, {"type": "function", "function": {"name": "get_weather"}}) == "get_weather"
    assert constrained_choice(TOOLS, "auto") is None
    assert constrained_choice(TOOLS, "none") is None
    assert constrained_choice(TOOLS, None) is None
    assert constrained_choice([], "required") is None


def test_grammar_accepts_valid_calls_and_rejects_malformed_ones(compiler):
    flight = hermes("book_flight", {"origin": "BOS", "destination": "ORD", "passengers": {"adults": 2}, "cabin": "first"})
    weather = hermes("get_weather", {"city": "Paris"})
    assert accepts(compiler, "", flight)
    assert accepts(compiler, "", flight + "\n" + weather)  # parallel calls, as the chat template renders them
    assert not accepts(compiler, "", flight + "\n" + weather, parallel=False)
    assert not accepts(compiler, "", "Sure! " + weather)  # prose
    assert not accepts(compiler, "", hermes("get_time", {"city": "Paris"}))  # not a given tool
    assert not accepts(compiler, "", hermes("get_weather", {"city": "Paris", "country": "FR"}))  # unknown key
    assert not accepts(compiler, "", hermes("get_weather", {"unit": "c"}))  # required key missing
    assert not accepts(compiler, "", hermes("get_weather", {"city": "Paris", "unit": "kelvin"}))  # not in the enum
    assert not accepts(compiler, "", hermes("calculate_loan", {"principal": 1e5, "years": 2.5}))  # integer
    assert not accepts(compiler, "", hermes("book_flight", {"origin": "a", "destination": "b", "passengers": {"adults": "2"}}))
    assert not accepts(compiler, "", weather.replace('"city": ', '"city":   '))  # free whitespace
    assert accepts(compiler, "get_weather", weather)
    assert not accepts(compiler, "get_weather", flight)
    assert not accepts(compiler, "get_weather", weather + "\n" + weather)  # a named choice is one call


def test_forced_prefix_is_consumed_and_the_grammar_continues_after_it(compiler):
    [c] = compiler.get(TOOLS, "").constraints(1, encode(compiler, '<tool_call>\n{"name": "'))
    allowed = allowed_tokens([c], compiler.vocab_size)[0]
    texts = {compiler.tokenizer.decode_str([int(i)]) for i in allowed.nonzero()[:, 0]}
    assert texts and all(any(t.function.name.startswith(x) for t in TOOLS) for x in texts)
    with pytest.raises(ValueError, match="prefix"):
        compiler.get(TOOLS, "").constraints(1, encode(compiler, "Hello"))


def test_allowed_tokens_unpacks_the_bitmask_exactly(compiler):
    """Every token the mask allows is accepted by the grammar and a sample of
    the rejected ones is not: a wrong bit order would fail both."""
    [c] = compiler.get(TOOLS, "").constraints(1, encode(compiler, call_head("book_flight") + '{"origin": "B'))
    allowed = allowed_tokens([c], compiler.vocab_size)[0]
    ids = allowed.nonzero()[:, 0].tolist()
    assert 100 < len(ids) < compiler.vocab_size  # inside a string: most tokens, not quotes-breaking ones
    rejected = [i for i in random.Random(0).sample(range(compiler.vocab_size), 3000) if not allowed[i]]
    for i in random.Random(1).sample(ids, 300) + rejected[:300]:
        assert bool(c.matcher.validate_tokens([i])) == bool(allowed[i]), compiler.tokenizer.decode_str([i])


def test_should_end_once_another_call_would_not_fit(compiler):
    call = hermes("get_weather", {"city": "Paris"})
    [c] = compiler.get(TOOLS, "").constraints(1)
    ids = encode(compiler, call)
    for t in ids[:-1]:
        assert c.consume(t) and not c.should_end(1)  # never mid-call
    assert c.consume(ids[-1]) and c.longest_call == len(ids)
    assert c.should_end(2 * len(ids)) and not c.should_end(2 * len(ids) + 1)


def test_draw_never_lands_on_a_masked_token(monkeypatch):
    """The inverse-CDF draw at the extremes of u: a zero weight (a token the
    grammar masked out) is never picked."""
    import torch

    from agentforge.runtime.backends.sampling import _draw

    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.zeros(1))
    assert _draw(torch.tensor([0.0, 0.0, 0.5, 0.5]), None) == 2
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.ones(1))  # u rounded up to the total
    assert _draw(torch.tensor([0.5, 0.5, 0.0, 0.0]), None) == 1


def test_close_objects_closes_declared_objects_only():
    schema = {
        "type": "object",
        "properties": {
            "properties": {"type": "object", "properties": {"a": {"type": "string"}}},  # a parameter named "properties"
            "free": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
            "open": {"type": "object", "properties": {"x": {}}, "additionalProperties": True},
        },
    }
    out = close_objects(schema)
    assert out["additionalProperties"] is False
    assert out["properties"]["properties"]["additionalProperties"] is False
    assert "additionalProperties" not in out["properties"]["properties"]["properties"]  # a property map, not a schema
    assert "additionalProperties" not in out["properties"]["free"]
    assert out["properties"]["tags"]["items"]["additionalProperties"] is False
    assert out["properties"]["open"]["additionalProperties"] is True
    assert "additionalProperties" not in schema  # the input is not modified


def test_unsupported_schemas_loosen_that_tool_only_with_a_warning(compiler):
    odd = tool("odd", {"when": {"type": "string", "format": "no-such-format"}}, ["when"])
    raw_bfcl = tool("raw", {"d": {"type": "dict"}}, ["d"])
    lark, warnings = tool_call_lark([odd, raw_bfcl, TOOLS[3]], "")
    assert len(warnings) == 2 and "ignored" in warnings[0] and "JSON object" in warnings[1]
    grammar = compiler.get([odd, raw_bfcl, TOOLS[3]], "")
    assert grammar.warnings == warnings
    [c] = grammar.constraints(1)
    assert all(c.consume(t) for t in encode(compiler, hermes("raw", {"anything": [1, {"x": None}]})))
    assert c.matcher.is_accepting()
    with pytest.raises(ValueError, match="not among the tools"):
        tool_call_lark(TOOLS, "no_such_tool")


def test_grammars_are_compiled_once_per_tool_list(compiler):
    before = compiler.compiled
    first = compiler.get(TOOLS[:2], "")
    assert compiler.get(TOOLS[:2], "") is first
    assert compiler.get([t.model_copy(deep=True) for t in TOOLS[:2]], "") is first  # equal tools, new objects
    assert compiler.compiled == before + 1
    assert compiler.get(TOOLS[:2], "book_flight") is not first
    assert compiler.get(TOOLS[:2], "", parallel=False) is not first
    assert compiler.compiled == before + 3


# ---------------------------------------------------------------- the real model

N = 8


def success_rate(completions, allowed: set[str]) -> float:
    return sum(not call_problems(c.text, allowed) for c in completions) / len(completions)


@pytest.mark.model
@pytest.mark.slow
async def test_required_calls_always_parse_and_validate(embedded):
    """N=8 at temperature 1.0: every constrained candidate is well-formed calls of
    the given tools with schema-valid arguments and ends as a tool-call turn;
    the same request unconstrained does not manage that every time."""
    s = Sampling(temperature=1.0, max_tokens=128, seed=3, tool_choice="required")
    constrained = await embedded.complete(PROMPT, tools=TOOLS, n=N, sampling=s)
    for c in constrained:
        assert call_problems(c.text, set(BY_NAME)) == [], c.text
        assert c.finish_reason == "tool_calls" and not c.parse_errors
        assert c.text.startswith("<tool_call>") and c.text.endswith("</tool_call>")
    free = await embedded.complete(PROMPT, tools=TOOLS, n=N, sampling=s.merged(extra_body={"constrained": False}))
    rate = success_rate(free, set(BY_NAME))
    print(f"parse+validate success: constrained 100% ({N}/{N}), unconstrained {rate:.0%}")
    assert rate < 1.0


@pytest.mark.model
async def test_named_choice_yields_exactly_that_tool(embedded):
    """Every turn that ends by itself is exactly one valid call of the named
    tool. (A turn cut by max_tokens can still stop inside a string: at
    temperature 1.0 this model sometimes never closes one, e.g. seed 5.)"""
    named = {"type": "function", "function": {"name": "get_weather"}}
    s = Sampling(temperature=1.0, max_tokens=80, seed=5, tool_choice=named)
    completions = await embedded.complete([Message.user("Is it raining in Oslo?")], tools=TOOLS, n=4, sampling=s)
    finished = [c for c in completions if c.finish_reason != "length"]
    assert len(finished) >= 3
    for c in finished:
        assert call_problems(c.text, {"get_weather"}) == [], c.text
        assert [t.name for t in c.tool_calls] == ["get_weather"]
        assert c.finish_reason == "tool_calls"


@pytest.mark.model
async def test_parallel_calls_can_be_turned_off(embedded):
    s = Sampling(temperature=1.0, max_tokens=60, seed=9, tool_choice="required", extra_body={"parallel_tool_calls": False})
    for c in await embedded.complete([Message.user("Weather in Rome and in Oslo?")], tools=TOOLS[3:], n=4, sampling=s):
        assert len(c.tool_calls) == 1 and not c.parse_errors and c.finish_reason == "tool_calls"


@pytest.mark.model
async def test_streaming_under_constraint(embedded):
    named = {"type": "function", "function": {"name": "get_weather"}}
    pieces, done = [], None
    s = Sampling(temperature=0, max_tokens=40, tool_choice=named)
    async for ev in embedded.stream([Message.user("Weather in Lima?")], tools=TOOLS, sampling=s):
        if ev.completion is not None:
            done = ev.completion
        else:
            pieces.append(ev.text)
    assert done is not None and "".join(pieces) == done.text
    assert call_problems(done.text, {"get_weather"}) == []


@pytest.mark.model
async def test_logprobs_are_the_models_own_not_the_masked_ones(embedded):
    """The first step sees the same logits with or without the grammar, so the
    recorded top-k must be identical: the mask changes sampling only."""
    s = Sampling(temperature=0, max_tokens=3, logprobs=True, top_logprobs=5, tool_choice="required")
    [on] = await embedded.complete(PROMPT, tools=TOOLS, sampling=s)
    [off] = await embedded.complete(PROMPT, tools=TOOLS, sampling=s.merged(extra_body={"constrained": False}))
    assert [t.token_id for t in on.logprobs[0].top] == [t.token_id for t in off.logprobs[0].top]
    assert [t.logprob for t in on.logprobs[0].top] == pytest.approx([t.logprob for t in off.logprobs[0].top], abs=1e-4)


@pytest.mark.model
async def test_cancelling_a_constrained_request_frees_its_slots(embedded):
    long_text = tool("write_note", {"text": {"type": "string"}}, ["text"])
    s = Sampling(max_tokens=2000, tool_choice="required")
    task = asyncio.create_task(embedded.complete([Message.user("Write a very long note.")], tools=[long_text], n=4, sampling=s))
    await asyncio.sleep(1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await engine_idle(embedded.engine)
    assert not embedded.engine.active
    s = Sampling(temperature=0, max_tokens=30, tool_choice="required")
    [c] = await embedded.complete([Message.user("Weather in Rome?")], tools=TOOLS[3:], sampling=s)
    assert c.tool_calls  # the engine still serves


@pytest.mark.model
async def test_backend_compiles_once_per_tool_list_and_rejects_unknown_names(embedded):
    s = Sampling(temperature=0, max_tokens=2, tool_choice="required")
    await embedded.complete(PROMPT, tools=TOOLS[:3], sampling=s)
    compiled = embedded.grammars.compiled
    await embedded.complete(PROMPT, tools=TOOLS[:3], n=2, sampling=s)
    await embedded.complete([Message.user("Other words, same tools.")], tools=TOOLS[:3], sampling=s)
    assert embedded.grammars.compiled == compiled
    await embedded.complete(PROMPT, tools=TOOLS[1:3], sampling=s)
    assert embedded.grammars.compiled == compiled + 1
    assert await embedded._constraints(TOOLS, 2, Sampling(tool_choice="auto"), "") is None
    with pytest.raises(BackendError, match="not among the tools"):
        await embedded.complete(PROMPT, tools=TOOLS, sampling=s.merged(tool_choice={"type": "function", "function": {"name": "nope"}}))



@pytest.mark.model
def test_auto_grammar_allows_plain_text_or_valid_calls_only(embedded):
    """The opt-in "auto" grammar: a plain answer or well-formed calls, nothing in between."""
    import llguidance.hf
    from llguidance import LLMatcher

    from agentforge.runtime.backends.tool_grammar import AUTO, constrained_choice, tool_call_lark
    from agentforge.runtime.messages import FunctionSpec, ToolSpec

    tools = [ToolSpec(function=FunctionSpec(name="f", parameters={
        "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}))]
    assert constrained_choice(tools, "auto") is None  # off unless asked for
    assert constrained_choice(tools, None, auto=True) == AUTO
    assert constrained_choice(tools, "none", auto=True) is None
    lark, _ = tool_call_lark(tools, AUTO)
    hf = embedded.tokenizer
    ll_tok = llguidance.hf.from_tokenizer(hf, n_vocab=len(hf), eos_token=[hf.eos_token_id])

    def accepted(text: str) -> bool:
        m = LLMatcher(ll_tok, LLMatcher.grammar_from_lark(lark), log_level=0)
        return all(m.consume_token(t) for t in hf(text, add_special_tokens=False)["input_ids"]) and m.is_accepting()

    assert accepted("The weather is fine.")
    assert accepted('<tool_call>\n{"name": "f", "arguments": {"x": 3}}\n</tool_call>')
    assert not accepted('<tool_call>\n{"name": "g", "arguments": {"x": 3}}\n</tool_call>')  # unknown tool
    assert not accepted('<tool_call>\n{"name": "f", "arguments": {"x": "3"}}\n</tool_call>')  # wrong type
    assert not accepted('<tool_call>\n{"name": "f", "arguments": {"x": 3}}')  # unfinished


@pytest.mark.model
async def test_auto_constraint_on_request_makes_every_call_well_formed(embedded):
    from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec

    tools = [ToolSpec(function=FunctionSpec(name="get_weather", description="Weather in a city", parameters={
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"]}))]
    msgs = [Message.user("Use the tool to get the weather in Paris for 2 days.")]
    outs = await embedded.complete(msgs, tools, 8, Sampling(temperature=1.0, max_tokens=96, seed=11,
                                                            extra_body={"constrained": True}))
    for c in outs:
        if c.finish_reason == "stop":
            assert not c.parse_errors, c.text
            assert "<tool_call>" not in c.text or c.tool_calls, c.text


@pytest.mark.model
async def test_a_missing_grammar_fails_the_request_instead_of_decoding_freely(embedded, monkeypatch):
    """Before: the backend logged a warning and decoded unconstrained, so every
    'constrained' test passed without a grammar."""
    from agentforge.runtime.backends import embedded as embedded_module

    def no_llguidance(*args, **kwargs):
        raise ImportError("No module named 'llguidance'")

    monkeypatch.setattr(embedded_module, "GrammarCompiler", no_llguidance)
    fresh = embedded_module.EmbeddedBackend(embedded.model_dir, embedded.name, embedded.tokenizer, embedded.engine)
    s = Sampling(temperature=0, max_tokens=8, tool_choice="required")
    with pytest.raises(BackendError, match=r"need a grammar.*agentforge\[embedded\].*constrained': False"):
        await fresh.complete(PROMPT, tools=TOOLS, sampling=s)
    [free] = await fresh.complete(PROMPT, tools=TOOLS, sampling=s.merged(extra_body={"constrained": False}))
    assert free.text.startswith("<tool_call>")  # opting out still works

