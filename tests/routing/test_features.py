"""Request features: known values on hand-made requests, and determinism."""

from __future__ import annotations

import pytest

from agentforge.routing.features import FEATURES, request_features, words
from agentforge.runtime.messages import FunctionSpec, Message, ToolCall, ToolSpec


def tool(name: str, description: str = "", params: dict | None = None, required: list | None = None) -> ToolSpec:
    schema = {"type": "object", "properties": params or {}, "required": required or []}
    return ToolSpec(function=FunctionSpec(name=name, description=description, parameters=schema))


WEATHER = tool("get_weather", "Get the current weather in a city.", {"city": {"type": "string"},
                                                                    "unit": {"type": "string"}}, ["city"])
STOCKS = tool("getStockPrice", "Latest price of a stock ticker.", {"ticker": {"type": "string"}}, ["ticker"])


def test_identifiers_split_into_words():
    assert words("getStockPrice") == ["get", "stock", "price"]
    assert words("math.factorial_of-n2") == ["math", "factorial", "of", "n2"]


def test_a_request_about_one_tool():
    f = request_features([Message.user('What is the weather in "Paris" and then Lyon, in celsius, 2 days?')],
                         [WEATHER, STOCKS])
    assert list(f) == list(FEATURES)  # the documented order, which learned weights rely on
    assert f["n_tools"] == 2 and f["n_messages"] == 1 and f["user_turns"] == 1 and f["assistant_turns"] == 0
    assert f["name_overlap"] == 1.0  # "weather" ("get" is a function word)
    # user words: weather, paris, then, lyon, celsius, days -> 1 of 6 among the weather tool's words
    assert f["desc_overlap"] == pytest.approx(1 / 6, abs=1e-6)
    assert f["best_tool_margin"] == pytest.approx(1 / 6, abs=1e-6)  # the stock tool shares none
    assert f["param_overlap"] == 0.0  # neither "city" nor "unit" is written
    assert f["required_params"] == 1 and f["numbers"] == 1 and f["quoted"] == 1
    assert f["conjunctions"] == 2 and f["question"] == 1 and f["has_code"] == 0 and f["last_is_tool"] == 0


def test_no_tools_and_a_tool_result_last():
    call = ToolCall.make("get_weather", {"city": "Paris"})
    messages = [Message.system("be brief"), Message.user("weather in Paris"),
                Message(role="assistant", content=None, tool_calls=[call]), Message.tool("18 C", call.id)]
    f = request_features(messages)
    assert f["n_tools"] == 0 and f["desc_overlap"] == 0 and f["name_overlap"] == 0
    assert f["last_is_tool"] == 1 and f["has_system"] == 1 and f["assistant_turns"] == 1 and f["n_messages"] == 4
    assert request_features(messages, [WEATHER])["param_overlap"] == 0.0


def test_code_is_recognized_and_features_are_deterministic():
    messages = [Message.user("Fix this:\n```python\ndef f(x):\n    return x +\n```")]
    assert request_features(messages)["has_code"] == 1
    assert request_features([Message.user("plain words only")])["has_code"] == 0
    assert request_features(messages, [WEATHER, STOCKS]) == request_features(list(messages), [WEATHER, STOCKS])
    assert request_features([], None)["user_chars_log"] == 0.0  # an empty request does not crash
