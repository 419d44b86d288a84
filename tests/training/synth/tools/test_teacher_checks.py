"""The pure checks behind teacher mode's filters (no model, no double)."""

from __future__ import annotations

import pytest

from agentforge.training.synth.tools.teacher_checks import (argument_problem, call_signature, extract_json,
                                                            strict_json, tool_from_json, tools_from_reply)

TOOL = tool_from_json({"name": "find_room", "description": "Find a room.", "parameters": {
    "type": "object", "required": ["city", "guests"], "properties": {
        "city": {"type": "string"}, "guests": {"type": "integer", "minimum": 1},
        "price": {"type": "number"}, "pets": {"type": "boolean", "default": False},
        "view": {"type": "string", "enum": ["sea", "city"]},
        "dates": {"type": "object", "required": ["start"], "properties": {"start": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "string"}}}}})


@pytest.mark.parametrize("text", [
    '[{"a": 1}]', '```json\n[{"a": 1}]\n```', 'Here you go:\n[{"a": 1}]\nEnjoy!', 'x {"z" [{"a": 1}] tail'])
def test_extract_json_finds_the_value(text):
    assert extract_json(text) == [{"a": 1}]


def test_extract_json_and_strict_json_refuse_non_json():
    for text in ("", "no json here", "[{'a': 1}]"):
        with pytest.raises(ValueError):
            extract_json(text)
    assert strict_json('```\n{"ok": 1}\n```') == {"ok": 1}
    for text in ('Result: {"ok": 1}', "42", '"sunny"', '{"ok": 1'):
        with pytest.raises(ValueError):
            strict_json(text)


@pytest.mark.parametrize("args, problem", [
    ({"city": "Rome", "guests": 2}, None),
    ({"city": "Rome", "guests": 2, "price": 80, "view": "sea", "dates": {"start": "2026-01-02"}, "tags": ["a"]}, None),
    ({"city": "Rome"}, "missing required 'guests'"),
    ({"city": "Rome", "guests": "2"}, "expected integer"),
    ({"city": "Rome", "guests": 2.0}, "expected integer"),  # BFCL's checker too: 2.0 is not an int
    ({"city": "Rome", "guests": True}, "expected integer"),
    ({"city": "Rome", "guests": 0}, "out of range"),
    ({"city": "Rome", "guests": 2, "view": "garden"}, "not one of"),
    ({"city": "Rome", "guests": 2, "dates": {}}, "missing required 'start'"),
    ({"city": "Rome", "guests": 2, "tags": [1]}, "expected string"),
    ({"city": "Rome", "guests": 2, "smoking": True}, "unknown argument"),
    (["Rome", 2], "must be a JSON object"),
])
def test_argument_problem(args, problem):
    found = argument_problem(args, TOOL)
    assert (found is None) if problem is None else (problem in found), found


def test_tools_from_reply_accepts_both_forms_and_reports_the_rest():
    bare = {"name": "ping", "description": "Ping a host.", "parameters": {"type": "object", "properties": {
        "host": {"type": "string"}}, "required": ["host"]}}
    tools, problems = tools_from_reply({"tools": [bare, {"type": "function", "function": {**bare, "name": "pong"}},
                                                  {"name": "x", "description": ""}, "junk"]})
    assert [t["function"]["name"] for t in tools] == ["ping", "pong"] and len(problems) == 2
    assert tools[0] == {"type": "function", "function": bare}
    assert tools_from_reply("text") == ([], ["the reply is not a list of tools"])


def test_call_signature_ignores_order_case_and_defaults_but_not_values():
    tools = {"find_room": TOOL}
    a = call_signature([("find_room", {"city": "Rome", "guests": 2, "price": 80}), ("find_room", {"city": "Oslo", "guests": 1})], tools)
    b = call_signature([("find_room", {"city": "oslo", "guests": 1, "pets": False}), ("find_room", {"city": " rome", "guests": 2, "price": 80.0})], tools)
    assert a == b
    assert a != call_signature([("find_room", {"city": "Rome", "guests": 3, "price": 80}), ("find_room", {"city": "Oslo", "guests": 1})], tools)
    assert call_signature([], tools) == ()
