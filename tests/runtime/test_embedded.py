"""The embedded backend end to end on the real SmolLM2 model: continuous
batching, sampling, logprobs, tool calls, cancellation, limits."""

from __future__ import annotations

import asyncio
import math

import pytest

from agentforge.runtime.backends.base import BackendError
from agentforge.runtime.messages import FunctionSpec, Message, Sampling, ToolSpec
from tests.runtime.engine_idle import engine_idle

pytestmark = pytest.mark.model

GREEDY = Sampling(temperature=0, max_tokens=12)
WEATHER = ToolSpec(
    function=FunctionSpec(
        name="get_weather",
        description="Get the weather in a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
)


def ask(text: str) -> list[Message]:
    return [Message.user(text)]


async def test_greedy_is_deterministic_and_token_ids_are_as_generated(embedded):
    [a] = await embedded.complete(ask("Name a fruit."), sampling=GREEDY)
    [b] = await embedded.complete(ask("Name a fruit."), sampling=GREEDY)
    assert a.token_ids == b.token_ids and a.text == b.text and a.text
    assert a.usage.completion_tokens == len(a.token_ids)
    assert a.usage.prompt_tokens == len(embedded.prompt_ids(ask("Name a fruit."), None))
    # The text is the decoding of exactly the generated ids (nothing re-tokenized).
    assert embedded.tokenizer.decode(a.token_ids, skip_special_tokens=True) == a.text


async def test_batching_does_not_change_results(embedded):
    """Sequences joining the batch mid-flight decode exactly as they would alone."""
    prompts = ["Count to five.", "What is the capital of Italy?", "Write a haiku about rain."]
    alone = [(await embedded.complete(ask(p), sampling=GREEDY))[0].token_ids for p in prompts]

    async def later(p, delay):
        await asyncio.sleep(delay)
        return (await embedded.complete(ask(p), sampling=GREEDY))[0].token_ids

    together = await asyncio.gather(*(later(p, 0.3 * i) for i, p in enumerate(prompts)))
    assert together == alone


async def test_n_candidates_share_prompt_and_seeds_reproduce(embedded):
    s = Sampling(temperature=1.0, top_p=0.95, max_tokens=10, seed=7, logprobs=True)
    first = await embedded.complete(ask("Tell me a random word."), n=4, sampling=s)
    again = await embedded.complete(ask("Tell me a random word."), n=4, sampling=s)
    assert len(first) == 4
    assert [c.token_ids for c in first] == [c.token_ids for c in again]
    assert len({tuple(c.token_ids) for c in first}) > 1  # independent samples
    for c in first:
        assert len(c.logprobs) == len(c.token_ids)
        for tok_id, lp in zip(c.token_ids, c.logprobs):
            assert lp.token_id == tok_id and lp.logprob <= 0
            assert len(lp.top) == 20
            assert [t.logprob for t in lp.top] == sorted((t.logprob for t in lp.top), reverse=True)
            # top-k alternatives are the model's own distribution: the sampled
            # token is either among them or less likely than all of them.
            if tok_id not in {t.token_id for t in lp.top}:
                assert lp.logprob <= lp.top[-1].logprob + 1e-5
        assert math.fsum(math.exp(t.logprob) for t in c.logprobs[0].top) <= 1.0 + 1e-4


async def test_max_tokens_and_stop_strings(embedded):
    [c] = await embedded.complete(ask("Count from 1 to 20 separated by commas."), sampling=Sampling(temperature=0, max_tokens=5))
    assert c.finish_reason == "length" and len(c.token_ids) == 5
    [full] = await embedded.complete(ask("Count from 1 to 20 separated by commas."), sampling=Sampling(temperature=0, max_tokens=40))
    stop = full.text[4:6]
    [cut] = await embedded.complete(
        ask("Count from 1 to 20 separated by commas."), sampling=Sampling(temperature=0, max_tokens=40, stop=[stop])
    )
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[: full.text.find(stop)]


async def test_required_and_named_tool_choice_yield_calls_that_validate(embedded):
    """Under tool_choice "required" or a named function the grammar is on:
    every candidate is calls of the given tools whose arguments validate
    against the tool's schema (before: `tool_calls or parse_errors` passed
    with the grammar silently off)."""
    import jsonschema

    s = Sampling(temperature=0.7, max_tokens=80, seed=1, tool_choice="required")
    named = {"type": "function", "function": {"name": "get_weather"}}
    for sampling in (s, s.merged(tool_choice=named)):
        for c in await embedded.complete(ask("Use get_weather for Paris."), tools=[WEATHER], n=4, sampling=sampling):
            assert c.text.startswith("<tool_call>") and c.finish_reason == "tool_calls", c.text
            assert c.tool_calls and not c.parse_errors, c.text
            for call in c.tool_calls:
                assert call.name == "get_weather"
                jsonschema.validate(call.parsed_arguments(), WEATHER.function.parameters)
    assert embedded.grammars is not None


async def test_streaming_deltas_add_up_to_the_completion(embedded):
    pieces, done = [], None
    async for ev in embedded.stream(ask("Say hello."), sampling=Sampling(temperature=0, max_tokens=10, logprobs=True)):
        if ev.completion is not None:
            done = ev.completion
        else:
            pieces.append(ev.text)
            assert ev.logprob is not None
    assert done is not None and "".join(pieces) == done.text


async def test_cancelling_a_request_frees_its_slots(embedded):
    task = asyncio.create_task(embedded.complete(ask("Write a long story."), n=4, sampling=Sampling(max_tokens=2000)))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await engine_idle(embedded.engine)
    assert not embedded.engine.active
    [c] = await embedded.complete(ask("Name a fruit."), sampling=GREEDY)  # the engine still serves
    assert c.text


async def test_too_long_prompt_and_too_many_candidates_are_clear_errors(embedded):
    """An over-long prompt is the client's error (ContextLengthError, which the
    server answers with a 400), raised before any prefill; before, it was a
    BackendError (a 502)."""
    from agentforge.runtime.backends.base import ContextLengthError

    ran = embedded.engine.prefilled_tokens
    with pytest.raises(ContextLengthError, match=r"prompt is \d+ tokens; this model's context is 8192 tokens"):
        await embedded.complete(ask("word " * 9000), sampling=GREEDY)
    assert embedded.engine.prefilled_tokens == ran
    with pytest.raises(BackendError, match="slots"):
        await embedded.complete(ask("hi"), n=embedded.engine.max_slots + 1, sampling=GREEDY)


async def test_next_agent_turn_reuses_the_previous_turns_cache(embedded):
    """A follow-up turn shares its conversation prefix with the finished one:
    that prefix is copied from the remembered cache, not recomputed, and the
    output is exactly what a cold prefill gives."""
    first = [Message.system("You are terse."), Message.user("Name a planet.")]
    [a] = await embedded.complete(first, sampling=GREEDY)
    follow = first + [a.message(), Message.user("And a moon of it?")]
    hits, ran = embedded.engine.prefix_hit_tokens, embedded.engine.prefilled_tokens
    [warm] = await embedded.complete(follow, sampling=GREEDY)
    reused = embedded.engine.prefix_hit_tokens - hits
    prompt_len = len(embedded.prompt_ids(follow, None))
    assert reused >= len(embedded.prompt_ids(first, None))
    assert embedded.engine.prefilled_tokens - ran == prompt_len - reused
    saved = embedded.engine.prefixes.entries
    embedded.engine.prefixes.entries = []  # cold: no reuse possible
    try:
        [cold] = await embedded.complete(follow, sampling=GREEDY)
    finally:
        embedded.engine.prefixes.entries = saved
    assert cold.token_ids == warm.token_ids
