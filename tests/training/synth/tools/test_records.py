"""validate_record: what a training record must be (used on every source)."""

import copy
import json

from agentforge.training.synth.tools.records import validate_record

TOOL = {"type": "function", "function": {"name": "reserve_table", "description": "Reserve.", "parameters": {
    "type": "object", "properties": {
        "restaurant": {"type": "string"}, "party_size": {"type": "integer"}, "price": {"type": "number"},
        "outdoor": {"type": "boolean"}, "level": {"type": "string", "enum": ["$", "$$"]},
        "guests": {"type": "array", "items": {"type": "string"}},
        "where": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    "required": ["restaurant", "party_size"]}}}

GOOD = {"messages": [
    {"role": "user", "content": "Book a table for 4 at Luigi's"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function", "function": {
        "name": "reserve_table", "arguments": json.dumps({"restaurant": "Luigi's", "party_size": 4, "price": 3,
                                                          "where": {"city": "Rome"}, "guests": ["a"]})}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "{\"ok\": true}"},
    {"role": "assistant", "content": "Booked."}], "tools": [TOOL]}


def _with_args(args):
    rec = copy.deepcopy(GOOD)
    rec["messages"][1]["tool_calls"][0]["function"]["arguments"] = args if isinstance(args, str) else json.dumps(args)
    return rec


def test_a_good_record_has_no_problems():
    assert validate_record(GOOD) == []


def test_argument_problems_are_found():
    base = {"restaurant": "L", "party_size": 4}
    cases = {
        "not JSON": "{restaurant: L}",
        "not of type integer": base | {"party_size": "4"},
        "not of type integer ": base | {"party_size": 4.5},
        "not of type number": base | {"price": True},
        "not one of": base | {"level": "$$$"},
        "missing required 'party_size'": {"restaurant": "L"},
        "unknown parameter 'color'": base | {"color": "red"},
        "is not of type string": base | {"guests": ["a", 2]},
        "missing required 'city'": base | {"where": {}},
        "must be a JSON object": "[1, 2]",
    }
    for expected, args in cases.items():
        problems = validate_record(_with_args(args))
        assert any(expected.strip() in p for p in problems), (expected, problems)


def test_structure_problems_are_found():
    rec = copy.deepcopy(GOOD)
    rec["messages"][2]["tool_call_id"] = "call_9"
    assert any("answers no call" in p for p in validate_record(rec))
    rec = copy.deepcopy(GOOD)
    rec["messages"][1]["tool_calls"][0]["function"]["name"] = "book_table"
    assert any("not among the record's tools" in p for p in validate_record(rec))
    rec = copy.deepcopy(GOOD)
    rec["messages"][1]["tool_calls"][0]["function"]["arguments"] = {"restaurant": "L", "party_size": 4}
    assert any("JSON string" in p for p in validate_record(rec))
    rec = copy.deepcopy(GOOD)
    rec["messages"].append({"role": "user", "content": "thanks"})
    assert any("nothing to learn" in p for p in validate_record(rec))
    rec = copy.deepcopy(GOOD)
    rec["messages"][0]["role"] = "robot"
    assert validate_record(rec)
    rec = copy.deepcopy(GOOD)
    rec["messages"].insert(1, {"role": "system", "content": "late"})
    assert any("system message may only come first" in p for p in validate_record(rec))
    rec = copy.deepcopy(GOOD)
    rec["tools"][0]["function"]["name"] = "reserve.table"
    assert any("valid tool name" in p for p in validate_record(rec))
    assert validate_record({"messages": []}) and validate_record([1])


def test_a_text_only_record_without_tools_is_fine():
    assert validate_record({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]}) == []
