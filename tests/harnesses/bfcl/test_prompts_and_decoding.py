"""FC/prompt-mode inputs and the decoding of model turns into the official formats."""

import json

from agentforge.harnesses.bfcl.canonical import NO_CALL, canonical_calls, canonical_turns
from agentforge.harnesses.bfcl.episodes import decode_fc, decode_prompt
from agentforge.harnesses.bfcl.prompts import prepare_functions, to_schema, to_tools
from agentforge.runtime.messages import Completion, FunctionCall, ToolCall
from agentforge.runtime.parsing import render_hermes_call

DOC = {
    "name": "math.hypot",
    "description": "Euclidean norm.",
    "parameters": {
        "type": "dict",
        "properties": {
            "x": {"type": "float", "description": "first"},
            "point": {"type": "tuple", "items": {"type": "integer"}, "description": "a point"},
            "opts": {"type": "dict", "properties": {"mode": {"type": "string", "enum": ["a", "b"]}},
                     "required": ["mode"], "description": "options"},
            "anything": {"type": "any", "description": "whatever"},
        },
        "required": ["x"],
    },
}


def test_bfcl_types_become_json_schema_recursively():
    schema = to_schema(DOC["parameters"])
    assert schema["type"] == "object" and schema["required"] == ["x"]
    props = schema["properties"]
    assert props["x"]["type"] == "number" and "float" in props["x"]["description"]
    assert props["point"] == {"type": "array", "items": {"type": "integer"}, "description": "a point"}
    assert props["opts"]["properties"]["mode"] == {"type": "string", "enum": ["a", "b"]}
    assert props["opts"]["required"] == ["mode"]
    assert props["anything"]["type"] == "string"


def test_fc_tools_use_valid_names_and_map_back():
    specs, names = to_tools([DOC])
    assert specs[0].function.name == "math_hypot"
    assert names == {"math_hypot": "math.hypot"}
    call = ToolCall(function=FunctionCall(name="math_hypot", arguments='{"x": 3.0}'))
    completion = Completion(text=render_hermes_call(call), tool_calls=[call])  # as every backend fills text
    decoded = decode_fc(completion, names)
    assert decoded.error is None
    assert decoded.official() == [{"math.hypot": {"x": 3.0}}]


def test_fc_turn_with_a_malformed_call_holds_no_call():
    # Officially (the Qwen FC handler) a block that is not a JSON object empties the whole turn.
    good = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'
    completion = Completion(text=good + '\n<tool_call>\n{bad\n</tool_call>', parse_errors=["not JSON"])
    decoded = decode_fc(completion, {})
    assert decoded.error is None and decoded.official() == [] and decoded.calls == []
    # A JSON object whose arguments are not an object fails the turn (a decode error).
    decoded = decode_fc(Completion(text='<tool_call>\n{"name": "f", "arguments": [1]}\n</tool_call>'), {})
    assert decoded.calls is None and "not a JSON object" in decoded.error
    assert decode_fc(Completion(text="I cannot help."), {}).official() == []


def test_java_parameters_are_declared_as_strings_with_a_note():
    doc = {"name": "f", "description": "d", "parameters": {"type": "dict", "properties": {
        "xs": {"type": "ArrayList", "items": {"type": "integer"}, "description": "list"},
        "n": {"type": "long", "description": "count"}}, "required": []}}
    java = prepare_functions([doc], "java")[0]
    assert java["parameters"]["properties"]["xs"]["type"] == "string"
    assert "items" not in java["parameters"]["properties"]["xs"]
    assert "long" in java["parameters"]["properties"]["n"]["description"]
    assert "Java" in java["description"]
    assert doc["parameters"]["properties"]["xs"]["type"] == "ArrayList"  # the input is not mutated
    assert prepare_functions([doc], "simple")[0]["parameters"]["properties"]["n"]["type"] == "long"


def test_prompt_mode_decodes_pythonic_call_lists():
    decoded = decode_prompt("[math.hypot(x=3.0, point=[1, 2]), g(name='a b')]")
    assert decoded.official() == [{"math.hypot": {"x": 3.0, "point": [1, 2]}}, {"g": {"name": "a b"}}]
    assert decode_prompt("[f(x=]").calls is None


def test_canonical_answers_ignore_order_and_spelling():
    a = [{"name": "f", "arguments": {"b": "New  York ", "a": 2.0}}, {"name": "g", "arguments": {}}]
    b = [{"name": "g", "arguments": {}}, {"name": "f", "arguments": {"a": 2, "b": "new york"}}]
    c = [{"name": "f", "arguments": {"a": 3, "b": "new york"}}, {"name": "g", "arguments": {}}]
    assert canonical_calls(a) == canonical_calls(b) != canonical_calls(c)
    assert canonical_calls([]) == canonical_calls(None) == NO_CALL
    assert canonical_turns([[a, []], [[]]]) == canonical_turns([[b, []], [[]]])
    assert json.loads(canonical_turns([[a, []]]))[0] == [canonical_calls(a)]
