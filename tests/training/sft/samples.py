"""Sample training records in the shared format: every shape the trainer must
handle (tools or none, parallel calls, tool results, default or custom system
message, several assistant turns, a conversation ending on a tool result)."""

from __future__ import annotations

import json

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
        "required": ["city"]}}}
BOOK = {"type": "function", "function": {
    "name": "reserve_table", "description": "Book a restaurant table.",
    "parameters": {"type": "object", "properties": {
        "restaurant": {"type": "string"}, "party_size": {"type": "integer"}, "time": {"type": "string"}},
        "required": ["restaurant", "party_size", "time"]}}}

CITIES = ["Paris", "Lima", "Osaka", "Nairobi", "Oslo", "Quito", "Perth", "Cairo"]


def call(i: str, name: str, args: dict) -> dict:
    return {"id": i, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def single_call(city: str) -> dict:
    return {"messages": [
        {"role": "user", "content": f"What's the weather in {city}?"},
        {"role": "assistant", "content": "", "tool_calls": [call("c0", "get_weather", {"city": city})]},
        {"role": "tool", "tool_call_id": "c0", "content": json.dumps({"temp_c": 21, "sky": "clear"})},
        {"role": "assistant", "content": f"It is 21 °C and clear in {city}."}],
        "tools": [WEATHER, BOOK], "meta": {"source": "procedural", "shape": "single"}}


def parallel_calls(a: str, b: str) -> dict:
    return {"messages": [
        {"role": "system", "content": "You are a terse travel assistant."},
        {"role": "user", "content": f"Weather in {a} and {b}, in fahrenheit please."},
        {"role": "assistant", "content": "", "tool_calls": [
            call("c0", "get_weather", {"city": a, "unit": "fahrenheit"}),
            call("c1", "get_weather", {"city": b, "unit": "fahrenheit"})]},
        {"role": "tool", "tool_call_id": "c0", "content": "{\"temp_f\": 70}"},
        {"role": "tool", "tool_call_id": "c1", "content": "{\"temp_f\": 51}"},
        {"role": "assistant", "content": f"{a}: 70 °F. {b}: 51 °F."},
        {"role": "user", "content": "Book Luigi's for 4 at 7pm."},
        {"role": "assistant", "content": "Booking it now.", "tool_calls": [
            call("c2", "reserve_table", {"restaurant": "Luigi's", "party_size": 4, "time": "19:00"})]},
        {"role": "tool", "tool_call_id": "c2", "content": "{\"confirmation\": \"R-2231\"}"}],
        "tools": [WEATHER, BOOK]}


def no_tools(i: int) -> dict:
    return {"messages": [
        {"role": "user", "content": f"Say the number {i} in words."},
        {"role": "assistant", "content": f"The number is {i}; in words that is up to you to check."}]}


def irrelevant(city: str) -> dict:
    return {"messages": [
        {"role": "system", "content": "Answer briefly. Use tools only when they fit."},
        {"role": "user", "content": f"Tell me a fun fact about {city}."},
        {"role": "assistant", "content": f"I have no tool for facts about {city}, but it is a lovely city."}],
        "tools": [WEATHER]}


def sample_records(n: int) -> list[dict]:
    makers = [lambda i: single_call(CITIES[i % 8]), lambda i: parallel_calls(CITIES[i % 8], CITIES[(i + 3) % 8]),
              no_tools, lambda i: irrelevant(CITIES[(i + 5) % 8])]
    return [makers[i % len(makers)](i) for i in range(n)]
