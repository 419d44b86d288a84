"""Tool-call parsing: the formats, the tolerated mistakes, the errors, and round-trips."""

from __future__ import annotations

import json
import keyword
import operator
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentforge.runtime.messages import FunctionCall, ToolCall
from agentforge.runtime.parsing import (
    ParsedTurn,
    parse_hermes,
    parse_pythonic,
    render_hermes_call,
    render_pythonic_calls,
    split_reasoning,
)


def calls(turn: ParsedTurn) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.function.arguments)) for c in turn.tool_calls]


# ---------------------------------------------------------------------------- Hermes


def test_hermes_single_call():
    turn = parse_hermes('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')
    assert calls(turn) == [("get_weather", {"city": "Paris"})]
    assert turn.content is None and turn.errors == [] and turn.reasoning is None
    call = turn.tool_calls[0]
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.arguments == '{"city": "Paris"}'  # canonical json.dumps text


def test_hermes_several_calls_get_distinct_ids():
    text = "".join(f'<tool_call>{{"name": "f{i}", "arguments": {{"i": {i}}}}}</tool_call>\n' for i in range(3))
    turn = parse_hermes(text)
    assert calls(turn) == [("f0", {"i": 0}), ("f1", {"i": 1}), ("f2", {"i": 2})]
    assert len({c.id for c in turn.tool_calls}) == 3


def test_hermes_content_around_calls():
    text = 'Let me check.\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\nDone.'
    turn = parse_hermes(text)
    assert calls(turn) == [("f", {})]
    assert turn.content.startswith("Let me check.") and turn.content.endswith("Done.")
    assert "tool_call" not in turn.content


def test_hermes_plain_text():
    turn = parse_hermes("  The answer is 42.  ")
    assert turn.content == "The answer is 42." and turn.tool_calls == [] and turn.errors == []


@pytest.mark.parametrize("text", ["", "   \n ", "<think></think>"])
def test_hermes_empty(text):
    turn = parse_hermes(text)
    assert turn.content is None and turn.tool_calls == [] and turn.errors == [] and turn.reasoning is None


def test_hermes_unicode_kept_unescaped():
    turn = parse_hermes('<tool_call>{"name": "say", "arguments": {"text": "héllo 世界"}}</tool_call>')
    assert turn.tool_calls[0].function.arguments == '{"text": "héllo 世界"}'


def test_hermes_closing_tag_inside_string():
    text = '<tool_call>{"name": "echo", "arguments": {"s": "a </tool_call> b"}}</tool_call> after'
    turn = parse_hermes(text)
    assert calls(turn) == [("echo", {"s": "a </tool_call> b"})]
    assert turn.content == "after" and turn.errors == []


# Tolerated mistakes.


def test_hermes_missing_closing_tag_at_end():
    turn = parse_hermes('<tool_call>\n{"name": "f", "arguments": {"a": 1}}')
    assert calls(turn) == [("f", {"a": 1})] and turn.errors == [] and turn.content is None


def test_hermes_missing_closing_tag_before_next_call():
    text = '<tool_call>{"name": "f", "arguments": {"a": 1}}\n<tool_call>{"name": "g", "arguments": {"b": 2}}</tool_call>'
    turn = parse_hermes(text)
    assert calls(turn) == [("f", {"a": 1}), ("g", {"b": 2})] and turn.errors == []


def test_hermes_prose_after_unclosed_block_is_content():
    turn = parse_hermes('<tool_call>{"name": "f", "arguments": {}}\nI called f.')
    assert calls(turn) == [("f", {})] and turn.content == "I called f."


@pytest.mark.parametrize("fence", ["```json", "```", "```JSON"])
def test_hermes_code_fence_inside_block(fence):
    turn = parse_hermes(f'<tool_call>\n{fence}\n{{"name": "f", "arguments": {{"a": [1, 2]}}}}\n```\n</tool_call>')
    assert calls(turn) == [("f", {"a": [1, 2]})] and turn.errors == []


def test_hermes_code_fence_around_block_leaves_no_content():
    turn = parse_hermes('```\n<tool_call>{"name": "f", "arguments": {}}</tool_call>\n```')
    assert calls(turn) == [("f", {})] and turn.content is None


def test_hermes_prose_inside_block_before_json():
    turn = parse_hermes('<tool_call>Calling f now: {"name": "f", "arguments": {"x": 1}}</tool_call>')
    assert calls(turn) == [("f", {"x": 1})]


def test_hermes_python_dict_style():
    turn = parse_hermes("<tool_call>{'name': 'f', 'arguments': {'a': True, 'b': None, 'c': 'it\\'s', 'd': (1, 2)}}</tool_call>")
    assert calls(turn) == [("f", {"a": True, "b": None, "c": "it's", "d": [1, 2]})] and turn.errors == []


def test_hermes_python_style_with_json_constants():
    turn = parse_hermes("<tool_call>{'name': 'f', 'arguments': {'a': true, 'b': null, 'c': false}}</tool_call>")
    assert calls(turn) == [("f", {"a": True, "b": None, "c": False})]


def test_hermes_arguments_as_json_string():
    turn = parse_hermes('<tool_call>{"name": "f", "arguments": "{\\"a\\": 1, \\"b\\": [true]}"}</tool_call>')
    assert calls(turn) == [("f", {"a": 1, "b": [True]})] and turn.errors == []


def test_hermes_arguments_empty_string_or_missing_or_null():
    for body in ['{"name": "f", "arguments": ""}', '{"name": "f"}', '{"name": "f", "arguments": null}']:
        turn = parse_hermes(f"<tool_call>{body}</tool_call>")
        assert calls(turn) == [("f", {})] and turn.errors == [], body


def test_hermes_parameters_key():
    turn = parse_hermes('<tool_call>{"name": "f", "parameters": {"q": "x"}}</tool_call>')
    assert calls(turn) == [("f", {"q": "x"})]


def test_hermes_openai_style_object():
    turn = parse_hermes('<tool_call>{"type": "function", "function": {"name": "f", "arguments": {"q": 1}}}</tool_call>')
    assert calls(turn) == [("f", {"q": 1})]


def test_hermes_trailing_commas():
    turn = parse_hermes('<tool_call>{"name": "f", "arguments": {"a": [1, 2,], "s": "x,}",},}</tool_call>')
    assert calls(turn) == [("f", {"a": [1, 2], "s": "x,}"})] and turn.errors == []


def test_hermes_list_of_calls_in_one_block():
    turn = parse_hermes('<tool_call>[{"name": "f", "arguments": {}}, {"name": "g", "arguments": {"x": 1}}]</tool_call>')
    assert calls(turn) == [("f", {}), ("g", {"x": 1})] and turn.errors == []


def test_hermes_extra_text_after_json_in_block():
    turn = parse_hermes('<tool_call>\n{"name": "f", "arguments": {"a": 1}}\nThis fetches the data.\n</tool_call>')
    assert calls(turn) == [("f", {"a": 1})] and turn.errors == [] and turn.content is None


def test_hermes_name_is_stripped():
    assert calls(parse_hermes('<tool_call>{"name": " f ", "arguments": {}}</tool_call>')) == [("f", {})]


# Errors: reported, never raised; they say what is wrong and show the right format.


@pytest.mark.parametrize(
    "body, words",
    [
        ("", "empty"),
        ("just words", "no JSON"),
        ('{"name": "f", "arguments": {"a": 1}', "never closed"),
        ('{"name": "f", "arguments": {"a": 1}}}', None),  # an extra brace after a complete object is fine
        ('{"name": "f", "arguments": 5}', "must be a JSON object"),
        ('{"name": "f", "arguments": [1, 2]}', "must be a JSON object"),
        ('{"name": "f", "arguments": "not json"}', "does not hold a JSON object"),
        ('{"arguments": {}}', '"name"'),
        ('{"name": 3, "arguments": {}}', '"name"'),
        ('{"name": "", "arguments": {}}', '"name"'),
        ("[1]", "expected a JSON object"),
        ("[]", "empty list"),
        ('"f"', "no JSON"),
        ('{"name": "f", "arguments": {"a": NaN}}', "NaN"),
        ('{"name": "f", "arguments": {"a": 1 2}}', "invalid JSON"),
        ("{'name': 'f', 'arguments': {'a': os.system('x')}}", "invalid JSON"),
    ],
)
def test_hermes_errors(body, words):
    text = f"<tool_call>{body}</tool_call>"
    turn = parse_hermes(text)
    if words is None:
        assert turn.errors == [] and len(turn.tool_calls) == 1
        return
    assert turn.tool_calls == []
    assert len(turn.errors) == 1
    error = turn.errors[0]
    assert words in error.message
    assert "<tool_call>" in error.message  # the correct format, for the model
    assert error.snippet == text.strip()
    assert turn.content is None  # the failed block is markup, not content


def test_hermes_error_does_not_hide_other_calls():
    text = '<tool_call>{"name": "f", "arguments": 1}</tool_call><tool_call>{"name": "g", "arguments": {}}</tool_call>'
    turn = parse_hermes(text)
    assert calls(turn) == [("g", {})] and len(turn.errors) == 1


def test_hermes_list_with_one_bad_item():
    turn = parse_hermes('<tool_call>[{"name": "f", "arguments": {}}, 7]</tool_call>')
    assert calls(turn) == [("f", {})] and len(turn.errors) == 1


def test_hermes_unclosed_broken_block_swallows_rest():
    turn = parse_hermes('Hi <tool_call>{"name": "f", "arguments": {"a": ')
    assert turn.tool_calls == [] and len(turn.errors) == 1 and turn.content == "Hi"


def test_hermes_stray_closing_tag():
    turn = parse_hermes('{"name": "f", "arguments": {}}\n</tool_call>')
    assert turn.tool_calls == [] and len(turn.errors) == 1
    assert "without a matching <tool_call>" in turn.errors[0].message
    assert turn.content == '{"name": "f", "arguments": {}}'


def test_snippet_is_truncated():
    text = "<tool_call>" + "x" * 1000 + "</tool_call>"
    error = parse_hermes(text).errors[0]
    assert len(error.snippet) <= 203 and error.snippet.startswith("<tool_call>xxx")
    assert "Offending text" in str(error)


def test_deeply_nested_input_is_an_error_not_a_crash():
    text = "<tool_call>" + "[" * 5000 + "]" * 5000 + "</tool_call>"
    turn = parse_hermes(text)
    assert turn.tool_calls == [] and turn.errors
    turn = parse_pythonic("[f(a=" + "[" * 5000 + "]" * 5000 + ")]")
    assert turn.tool_calls == [] and turn.errors
    assert not any("Could not parse the turn" in e.message for e in turn.errors)


# Reasoning.


def test_think_block_is_reasoning():
    turn = parse_hermes('<think>\nI need the weather.\n</think>\n\nSure.\n<tool_call>{"name": "w", "arguments": {}}</tool_call>')
    assert turn.reasoning == "I need the weather."
    assert turn.content == "Sure." and calls(turn) == [("w", {})]


def test_think_close_without_open():
    # Qwen3's template opens <think> in the prompt: the completion starts inside the thought.
    turn = parse_hermes("the user wants x</think>\n\nHere is x.")
    assert turn.reasoning == "the user wants x" and turn.content == "Here is x."


def test_think_mentioning_tool_call_tag():
    text = 'Use <tool_call> with JSON.</think><tool_call>{"name": "f", "arguments": {}}</tool_call>'
    turn = parse_hermes(text)
    assert turn.reasoning == "Use <tool_call> with JSON." and calls(turn) == [("f", {})] and turn.errors == []


def test_unclosed_think_is_all_reasoning():
    turn = parse_hermes("<think>still thinking about it")
    assert turn.reasoning == "still thinking about it" and turn.content is None and turn.tool_calls == []


def test_empty_think_gives_no_reasoning():
    assert split_reasoning("<think>\n\n</think>\n\nHi") == (None, "\n\nHi")
    assert split_reasoning("no thoughts") == (None, "no thoughts")


def test_think_tag_inside_call_arguments_is_not_reasoning():
    turn = parse_hermes('<tool_call>{"name": "f", "arguments": {"s": "<think>x"}}</tool_call>')
    assert calls(turn) == [("f", {"s": "<think>x"})] and turn.reasoning is None


def test_pythonic_reasoning():
    turn = parse_pythonic("<think>pick f</think>\n[f(a=1)]")
    assert turn.reasoning == "pick f" and calls(turn) == [("f", {"a": 1})]


# ---------------------------------------------------------------------------- pythonic


def test_pythonic_list_of_calls():
    turn = parse_pythonic('[func_a(x=1, y="s"), mod.func_b(z=[1, 2], w={"k": 1.5})]')
    assert calls(turn) == [("func_a", {"x": 1, "y": "s"}), ("mod.func_b", {"z": [1, 2], "w": {"k": 1.5}})]
    assert turn.errors == [] and turn.content is None


def test_pythonic_values():
    turn = parse_pythonic(
        "[f(a=-3, b=-2.5, c=+4, d=True, e=False, g=None, h=(1, 'x'), i={'k': [None]}, j='q\"', k=1e3, l=[])]"
    )
    expected = {"a": -3, "b": -2.5, "c": 4, "d": True, "e": False, "g": None, "h": [1, "x"], "i": {"k": [None]}}
    expected.update({"j": 'q"', "k": 1000.0, "l": []})
    assert calls(turn) == [("f", expected)] and turn.errors == []


def test_pythonic_json_style_constants():
    turn = parse_pythonic("[f(a=true, b=false, c=null, d=[true, null])]")
    assert calls(turn) == [("f", {"a": True, "b": False, "c": None, "d": [True, None]})]


def test_pythonic_deep_dotted_name():
    assert calls(parse_pythonic("[a.b.c.d(x=1)]")) == [("a.b.c.d", {"x": 1})]


def test_pythonic_no_arguments():
    assert calls(parse_pythonic("[now()]")) == [("now", {})]


def test_pythonic_empty_list():
    turn = parse_pythonic("[]")
    assert turn.tool_calls == [] and turn.errors == [] and turn.content is None


def test_pythonic_single_call_without_brackets():
    assert calls(parse_pythonic("  f(a=1)\n")) == [("f", {"a": 1})]


def test_pythonic_tuple_of_calls_without_brackets():
    assert calls(parse_pythonic("f(a=1), g(b=2)")) == [("f", {"a": 1}), ("g", {"b": 2})]


def test_pythonic_one_call_per_line():
    assert calls(parse_pythonic("f(a=1)\ng(b=2)")) == [("f", {"a": 1}), ("g", {"b": 2})]


def test_pythonic_code_fence_and_prose():
    turn = parse_pythonic('Here you go:\n```python\n[f(a=1), g(s="x")]\n```\nHope it helps.')
    assert calls(turn) == [("f", {"a": 1}), ("g", {"s": "x"})]
    assert turn.content.startswith("Here you go:") and turn.content.endswith("Hope it helps.")
    assert "```" not in turn.content


def test_pythonic_single_call_in_prose():
    turn = parse_pythonic("I will call get_time(tz='UTC') now.")
    assert calls(turn) == [("get_time", {"tz": "UTC"})] and turn.content == "I will call  now."


def test_pythonic_prose_only():
    for text in ["Hello there.", "I think [this] is (fine).", "see (above)", "None"]:
        turn = parse_pythonic(text)
        assert turn.tool_calls == [] and turn.errors == [] and turn.content == text, text


def test_pythonic_brackets_in_strings():
    turn = parse_pythonic("[f(s='a]b)c', t=\"[(\")]")
    assert calls(turn) == [("f", {"s": "a]b)c", "t": "[("})]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[f(1, a=2)]", "positional"),
        ("[f(a=x)]", "not a literal"),
        ("[f(a=g(1))]", "not a literal"),
        ("[f(a=1+2)]", "not a literal"),
        ("[f(a={1, 2})]", "not a literal"),
        ("[f(a=b'x')]", "not a literal"),
        ("[f(a=1j)]", "not a literal"),
        ("[f(a={1: 2})]", "keys must be strings"),
        ("[f(a=1, a=2)]", "twice"),
        ("[f(**kw)]", "unpacking"),
        ("[f(a=1e999)]", "NaN or Infinity"),
        ("[f()(a=1)]", "not a function name"),
        ("[1, 2]", "not a function call"),
        ("[f(a=1), g(b=", "never closed"),
        ("[f(a=1,, b=2)]", "invalid syntax"),
    ],
)
def test_pythonic_errors(text, words):
    turn = parse_pythonic(text)
    assert turn.tool_calls == []
    assert turn.errors, text
    assert words in turn.errors[0].message
    assert "keyword arguments" in turn.errors[0].message  # the correct format, for the model


def test_pythonic_bad_call_does_not_hide_good_ones():
    turn = parse_pythonic("[f(a=1), g(2), h(b=x), k(c=3)]")
    assert calls(turn) == [("f", {"a": 1}), ("k", {"c": 3})]
    assert [e.snippet for e in turn.errors] == ["g(2)", "h(b=x)"]


def test_pythonic_never_evaluates():
    turn = parse_pythonic("[f(a=__import__('os').system('echo pwned'))]")
    assert turn.tool_calls == [] and "not a literal" in turn.errors[0].message


# ---------------------------------------------------------------------------- rendering


def test_render_hermes_call():
    call = ToolCall.make("get_weather", {"city": "Zürich", "days": [1, 2]})
    assert render_hermes_call(call) == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich", "days": [1, 2]}}\n</tool_call>'
    )


def test_render_hermes_call_with_broken_arguments_does_not_raise():
    call = ToolCall(function=FunctionCall(name="f", arguments="{oops"))
    assert '"arguments": "{oops"' in render_hermes_call(call)


def test_render_pythonic_calls():
    rendered = render_pythonic_calls([ToolCall.make("f", {"a": 1, "b": "x"}), ToolCall.make("m.g", {"c": [True, None]})])
    assert rendered == "[f(a=1, b='x'), m.g(c=[True, None])]"
    assert render_pythonic_calls([]) == "[]"


def test_round_trip_concrete():
    original = [ToolCall.make("f", {"a": {"b": [1, -2.5, "s'\"\n"]}, "c": None}), ToolCall.make("g.h", {})]
    for parsed in (parse_hermes("\n".join(render_hermes_call(c) for c in original)), parse_pythonic(render_pythonic_calls(original))):
        assert [(c.name, c.function.arguments) for c in parsed.tool_calls] == [
            (c.name, c.function.arguments) for c in original
        ]
        assert parsed.errors == []


# ---------------------------------------------------------------------------- properties

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Generating nested calls costs more than parsing them; fewer examples keep the file fast.
ROUND_TRIP_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=100)

FRAGMENTS = [
    "<tool_call>", "</tool_call>", "<think>", "</think>", "{", "}", "[", "]", "(", ")", "=", ",", ":", '"',
    "'", "\\", '"name"', '"arguments"', '"parameters"', '"f"', "f", "mod.g", "a=", "1", "-2.5", "1e999",
    "NaN", "true", "null", "None", "True", "```", "```json", "\n", " ", "x", "**", "'s'", '"s"', "é",
]
near_valid_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=40).map("".join)


@PROPERTY_SETTINGS
@given(st.text() | near_valid_text)
def test_parsers_never_raise(text):
    for parse in (parse_hermes, parse_pythonic):
        turn = parse(text)
        assert isinstance(turn, ParsedTurn)
        for call in turn.tool_calls:
            assert isinstance(json.loads(call.function.arguments), dict)
        for error in turn.errors:
            assert error.message and len(error.snippet) <= 203
            assert "Could not parse the turn" not in error.message  # the last-resort guard never fired


_FIRST = string.ascii_letters + "_"
identifiers = st.builds(operator.add, st.sampled_from(_FIRST), st.text(_FIRST + string.digits, max_size=8)).filter(
    lambda s: not keyword.iskeyword(s) and s not in {"true", "false", "null"}
)
function_names = st.lists(identifiers, min_size=1, max_size=3).map(".".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
call_lists = st.lists(
    st.builds(ToolCall.make, function_names, st.dictionaries(identifiers, json_values, max_size=4)),
    max_size=3,
)


@ROUND_TRIP_SETTINGS
@given(call_lists, st.sampled_from(["", "\n", "Some prose.\n"]))
def test_hermes_round_trip(original, prefix):
    text = prefix + "\n".join(render_hermes_call(c) for c in original)
    parsed = parse_hermes(text)
    assert [(c.name, c.function.arguments) for c in parsed.tool_calls] == [(c.name, c.function.arguments) for c in original]
    assert parsed.errors == []
    assert parsed.content == (prefix.strip() or None)


@ROUND_TRIP_SETTINGS
@given(call_lists.filter(bool))
def test_pythonic_round_trip(original):
    parsed = parse_pythonic(render_pythonic_calls(original))
    assert [(c.name, c.function.arguments) for c in parsed.tool_calls] == [(c.name, c.function.arguments) for c in original]
    assert parsed.errors == [] and parsed.content is None
