"""response_format grammars (runtime/response_format.py): what the embedded engine
lets a turn be under json_object / json_schema, alone and beside tools.

Grammars are checked with the real SmolLM2 tokenizer (no model): a text is
accepted when every token of it is and the grammar may end there."""

from __future__ import annotations

import json

import pytest

from agentforge.runtime.backends.tool_grammar import GrammarCompiler, call_head
from agentforge.runtime.backends.format_grammar import format_lark
from agentforge.runtime.response_format import conflict, schema_of
from tests.runtime.test_constrained import TOOLS

PERSON = {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}},
    "required": ["name", "age"]}}}
JSON_OBJECT = {"type": "json_object"}


@pytest.fixture(scope="module")
def compiler(checkpoint_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_dir)
    return GrammarCompiler(tok, len(tok), [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id])


def accepts(compiler: GrammarCompiler, fmt: dict, text: str, tools=None, tool_choice=None) -> bool:
    lark, warnings = format_lark(fmt, tools, tool_choice)
    [c] = compiler.from_lark(lark, warnings).constraints(1)
    return all(c.consume(t) for t in compiler.tokenizer.tokenize_str(text)) and c.matcher.is_accepting()


def test_json_object_is_any_object_and_nothing_else(compiler):
    assert accepts(compiler, JSON_OBJECT, json.dumps({"a": 1, "b": [True, None, {"c": "x"}]}))
    assert accepts(compiler, JSON_OBJECT, "{}")
    assert not accepts(compiler, JSON_OBJECT, "[1, 2]")  # JSON, but not an object
    assert not accepts(compiler, JSON_OBJECT, '"text"')
    assert not accepts(compiler, JSON_OBJECT, 'Sure! {"a": 1}')  # prose before it
    assert not accepts(compiler, JSON_OBJECT, '{"a": 1')  # unfinished: the grammar may not end there


def test_json_schema_is_enforced(compiler):
    assert accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 31}))
    assert accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 31, "tags": ["a", "b"]}))
    assert not accepts(compiler, PERSON, json.dumps({"name": "Ann"}))  # required key missing
    assert not accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 31.5}))  # not an integer
    assert not accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 31, "tags": ["c"]}))  # not in the enum
    assert not accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 31, "extra": 1}))  # closed object


def test_with_tools_the_turn_is_a_call_or_json(compiler):
    call = f'{call_head("get_weather")}{json.dumps({"city": "Paris"})}}}\n</tool_call>'
    assert accepts(compiler, PERSON, call, TOOLS, "auto")
    assert accepts(compiler, PERSON, json.dumps({"name": "Ann", "age": 3}), TOOLS, "auto")
    assert not accepts(compiler, PERSON, "I will call a tool.", TOOLS, "auto")
    assert not accepts(compiler, PERSON, call, TOOLS, "none")  # "none": the format only


def test_a_format_and_a_forced_call_conflict():
    assert conflict(JSON_OBJECT, "auto") is None and conflict(None, "required") is None
    for forced in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        assert "drop one of them" in conflict(JSON_OBJECT, forced)
        with pytest.raises(ValueError, match="tool_choice"):
            format_lark(JSON_OBJECT, TOOLS, forced)


def test_an_unenforceable_schema_fails_when_strict_and_loosens_otherwise():
    odd = {"type": "object", "properties": {"when": {"type": "string", "format": "no-such-format"}}}
    strict = {"type": "json_schema", "json_schema": {"name": "odd", "strict": True, "schema": odd}}
    with pytest.raises(ValueError, match="cannot be enforced"):
        format_lark(strict, None)
    loose = {"type": "json_schema", "json_schema": {"name": "odd", "schema": odd}}
    _, warnings = format_lark(loose, None)
    assert len(warnings) == 1 and "response_format schema" in warnings[0]


def test_a_missing_schema_means_any_json():
    assert schema_of({"type": "json_schema", "json_schema": {"name": "x"}}) == ({}, False)
    assert schema_of(JSON_OBJECT) == ({"type": "object"}, False)
