"""Contrast pairs: one request, offered its tool (a call) and offered only a distractor (text, no call)."""

import random

from agentforge.training.synth.tools.contrast import contrast, contrast_pair
from agentforge.training.synth.tools.records import validate_record


def multiple_record():
    def tool(name, description):
        return {"type": "function", "function": {"name": name, "description": description, "parameters": {
            "type": "object", "properties": {"city": {"type": "string", "description": "City."}}, "required": ["city"]}}}

    return {"messages": [
        {"role": "user", "content": "What's the weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function", "function": {
            "name": "weather_now", "arguments": '{"city": "Oslo"}'}}]}],
        "tools": [tool("weather_now", "Current weather in a city."), tool("city_population", "Population of a city."),
                  tool("city_mayor", "The mayor of a city.")],
        "meta": {"source": "procedural", "shape": "multiple"}}


def test_a_pair_differs_only_in_the_offered_tool_and_the_answer():
    positive, negative = contrast_pair(multiple_record(), random.Random(0))
    assert [t["function"]["name"] for t in positive["tools"]] == ["weather_now"]
    assert positive["messages"] == multiple_record()["messages"]
    assert [t["function"]["name"] for t in negative["tools"]] in (["city_population"], ["city_mayor"])
    assert negative["messages"][:-1] == multiple_record()["messages"][:-1]
    answer = negative["messages"][-1]
    assert answer["role"] == "assistant" and "tool_calls" not in answer and answer["content"]
    assert (positive["meta"]["shape"], negative["meta"]["shape"]) == ("contrast_call", "contrast_no_call")
    assert validate_record(positive) == [] and validate_record(negative) == []


def test_other_shapes_are_replayed_and_a_record_without_distractor_makes_no_pair():
    alone = multiple_record()
    alone["tools"] = alone["tools"][:1]
    parallel = multiple_record() | {"meta": {"shape": "parallel"}}
    out = list(contrast([alone, parallel], random.Random(0)))
    assert out == [parallel]


def test_a_set_pair_calls_among_all_tools_and_refuses_with_all_but_the_needed_one():
    positive, negative = contrast_pair(multiple_record(), random.Random(0), "set")
    assert positive["tools"] == multiple_record()["tools"] and positive["messages"] == multiple_record()["messages"]
    assert [t["function"]["name"] for t in negative["tools"]] == ["city_population", "city_mayor"]
    text = negative["messages"][-1]["content"]
    assert "city_population" in text and "city_mayor" in text and "only function" not in text
    assert validate_record(positive) == [] and validate_record(negative) == []


def test_set_share_mixes_both_kinds():
    out = list(contrast([multiple_record() for _ in range(40)], random.Random(1), set_share=0.5))
    sizes = [len(r["tools"]) for r in out if r["meta"]["shape"] == "contrast_call"]
    assert 5 < sizes.count(3) < 35 and sizes.count(1) == 40 - sizes.count(3)
