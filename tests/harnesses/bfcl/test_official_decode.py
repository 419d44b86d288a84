"""Prompt- and FC-mode decoding of raw model text, exactly as the official BFCL
pipeline (bfcl-eval 2025.6.16) decodes it. Expected outputs below are what the
official decoder returns on the same text (checked with the official package;
tests/harnesses/bfcl/test_official_agreement.py runs it on generated texts)."""

import time

import pytest

from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.episodes import decode_fc, decode_prompt, decode_prompt_lenient
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.runtime.messages import Completion
from agentforge.runtime.parsing import parse_hermes


def completion(text):
    """A completion as the embedded backend makes it: the raw text, and the runtime's tolerant parse."""
    turn = parse_hermes(text)
    return Completion(text=text, tool_calls=turn.tool_calls, parse_errors=[e.message for e in turn.errors])


def prompt(text, language="Python"):
    decoded = decode_prompt(text, language)
    return decoded.error is None, decoded.official()


@pytest.mark.parametrize("text", [
    "Sure, here it is: [f(a=1)]",  # prose around the list
    "[f(a=1)]\nHope this helps.",
    "```python\n[f(a=1)]\n```",  # a fenced block with a language tag
    "[ f(a=1) ]",  # spaces inside the brackets
    "[\n    f(a=1),\n    g(b=2)\n]",  # a multi-line list
    "f(a=1)\ng(b=2)",  # one call per line
    "\t[f(a=1)]",  # a tab is not stripped
    "[f(a=1)];",
])
def test_text_the_official_decoder_rejects_is_not_decoded(text):
    ok, _ = prompt(text)
    assert not ok


@pytest.mark.parametrize("text, expected", [
    ("[[f(a=1)]]", [{"f": {"a": 1}}]),  # doubled brackets are stripped
    ("[f(1, b=2)]", [{"f": {"b": 2}}]),  # positional arguments are dropped
    ("[f(a=g(x=1))]", [{"f": {"a": {"g": {"x": 1}}}}]),  # a nested call with keywords: a nested dict
    ("[f(a=g(1))]", [{"f": {"a": "g(1)"}}]),  # without keywords: its source text
    ("```\n[f(a=1)]\n```", [{"f": {"a": 1}}]),  # a bare fence is stripped
    ("<think>\nhmm\n</think>\n\n[f(a=1)]", [{"f": {"a": 1}}]),
    ("f(a=1), g(b=x)", [{"f": {"a": 1}}, {"g": {"b": "x"}}]),  # a bare name: its text
    ("[f(a=true, b=None, c=...)]", [{"f": {"a": "true", "b": None, "c": "..."}}]),
    ("[f(a=+5, b=not 1, c=-2.5)]", [{"f": {"a": -5, "b": -1, "c": -2.5}}]),  # any unary operator negates
    ("[f(a=1 + 2 * 3, b='x' + 'y', c=-1 + 2)]", [{"f": {"a": 7, "b": "xy", "c": 1}}]),  # arithmetic: its value
    ("[f(a=d['k'])]", [{"f": {"a": "d['k']"}}]),
    ("[f(a=(1, 2))]", [{"f": {"a": (1, 2)}}]),
    ("{f(a=1)}", [{"f": {"a": 1}}]),  # a set of calls
    ("[f(a=1, a=2)]", [{"f": {"a": 2}}]),  # a repeated keyword parses; the last wins
    ("[f(**{'a': 1})]", [{"f": {None: {"a": 1}}}]),
    ("[f(a=[1][0])]", [{"f": {"a": "[1][0]"}}]),  # a subscript is kept as its text, not evaluated
])
def test_text_the_official_decoder_accepts(text, expected):
    assert prompt(text) == (True, expected)


def test_prose_def_lines_are_not_calls():
    text = "I would define it like this:\ndef get_time():\n    return now"
    assert not prompt(text)[0]
    assert decode_prompt_lenient(text).calls == [{"name": "get_time", "arguments": {}}]  # the tolerant parser's call


@pytest.mark.parametrize("text", [
    "[f(a=lambda x: x)]", "[f(a=math.pi)]", "[f(a=f'{x}')]", "[f(a=-x)]", "[f(a=1/0)]",
    "[]",  # stripped of its brackets, nothing is left to parse
])
def test_values_the_official_decoder_fails_on(text):
    assert not prompt(text)[0]


def test_model_output_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"[f(a=__import__('os').system('touch {marker}') + 1)]"  # officially passed to eval
    started = time.monotonic()
    assert not prompt(text)[0]
    assert not prompt("[f(a=9 ** 9 ** 9)]")[0]  # refused, not computed
    assert not marker.exists()
    assert time.monotonic() - started < 30


def test_java_and_javascript_values_stay_text():
    assert prompt("[f(a='3', b=true)]", "JavaScript") == (True, [{"f": {"a": "3", "b": "true"}}])
    assert prompt('[obj.f(a="x", b=new int[]{1, 2}, n=5L)]', "Java") == (
        True, [{"obj.f": {"a": "x", "b": "new int[]{1,2}", "n": "5L"}}])  # rebuilt from the tree: no spaces
    assert prompt("[f(a=1); g(b=2)]", "JavaScript") == (True, [{"f": {"a": "1"}}])  # only the first call
    assert prompt("[f(a=1), g(b=2)]", "JavaScript") == (True, None)  # a comma expression: no call found
    assert prompt("[int x = 1;]", "Java") == (True, {})  # no call: not a call list (wrong format, officially)
    assert not prompt("I can't.", "Java")[0]
    assert not prompt("[f(a=1)]", "Java")[0]  # not Java syntax to tree-sitter
    assert not prompt("[f(a=1, a=2)]", "JavaScript")[0]


def test_a_java_entry_scores_its_values_as_strings():
    entry, answer = load_entries("java")[0], load_answers("java")["java_0"]
    (name, accepted), = answer[0].items()
    doc = next(d for d in entry["function"] if d["name"] == name)
    props = doc["parameters"]["properties"]
    args = []
    for param, options in accepted.items():
        value = next(o for o in options if o != "")
        args.append(f'{param}="{value}"' if props[param]["type"] == "String" else f"{param}={value}")
    text = f"[{name}({', '.join(args)})]"
    decoded = decode_prompt(text, "Java")
    assert score_entry("java", entry, answer, decoded.official(), decoded.error).valid
    # The tolerant runtime parser reads Java literals as Python values, which fail the type check.
    lenient = decode_prompt_lenient(text)
    assert lenient.error is not None or not score_entry("java", entry, answer, lenient.official(), lenient.error).valid


GOOD = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'


@pytest.mark.parametrize("text, expected", [
    (GOOD, [{"f": {"a": 1}}]),
    (GOOD + "\n" + GOOD.replace('"f"', '"g"'), [{"f": {"a": 1}}, {"g": {"a": 1}}]),
    ("<think>\nok\n</think>\n\n" + GOOD, [{"f": {"a": 1}}]),
    ("Let me check.\n" + GOOD, [{"f": {"a": 1}}]),
    ('<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>', []),  # the newlines are required
    ('<tool_call>\n{"name": "f", "arguments": {"a": 1},}\n</tool_call>', []),  # not JSON
    ('<tool_call>\n[{"name": "f", "arguments": {"a": 1}}]\n</tool_call>', []),  # a list, not an object
    (GOOD + "\n<tool_call>\n{bad\n</tool_call>", []),  # one malformed call among valid ones: no call at all
])
def test_fc_decoding_follows_the_official_fc_handler(text, expected):
    decoded = decode_fc(completion(text), {})
    assert (decoded.error, decoded.official()) == (None, expected)


@pytest.mark.parametrize("body", ['{"name": "f"}', '{"arguments": {}}', '{"name": "f", "arguments": "{\\"a\\": 1}"}'])
def test_fc_call_objects_without_name_or_object_arguments_fail_the_turn(body):
    decoded = decode_fc(completion(f"<tool_call>\n{body}\n</tool_call>"), {})
    assert decoded.error is not None and decoded.calls is None


def test_multi_turn_fc_takes_arguments_as_a_json_string():
    text = '<tool_call>\n{"name": "ls", "arguments": "{\\"a\\": true}"}\n</tool_call>'
    assert decode_fc(completion(text), {}, execute=True).calls == [{"name": "ls", "arguments": {"a": True}}]


def test_one_malformed_call_among_valid_ones_scores_as_no_call():
    """The official FC handler decodes the turn to [] (no call): it fails an AST entry
    (wrong count), passes an irrelevance entry, fails a relevance entry."""
    text = GOOD + "\n<tool_call>\n{bad\n</tool_call>"
    decoded = decode_fc(completion(text), {})
    simple, answer = load_entries("simple")[0], load_answers("simple")["simple_0"]
    verdict = score_entry("simple", simple, answer, decoded.official(), decoded.error)
    assert (verdict.valid, verdict.error_type) == (False, "simple_function_checker:wrong_count")
    assert score_entry("irrelevance", load_entries("irrelevance")[0], None, decoded.official(), decoded.error).valid
    assert not score_entry("live_relevance", load_entries("live_relevance")[0], None, decoded.official(),
                           decoded.error).valid
