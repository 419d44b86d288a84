"""Typed tools: schemas from signatures, validation, results, dispatch, loading from files."""

from __future__ import annotations

import asyncio
import json
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from agentforge.runtime.messages import ToolCall, ToolSpec
from agentforge.runtime.tools import Tool, ToolResult, Toolbox, parse_docstring, tool


class Address(BaseModel):
    street: str
    zip_code: int = 0


@tool
def book(
    city: str,
    nights: int,
    price: float = 99.5,
    breakfast: bool = False,
    guests: list[str] = [],
    room: Literal["single", "double"] = "single",
    note: Optional[str] = None,
    address: Address | None = None,
    title: Annotated[str, Field(description="How to address the guest.")] = "",
) -> dict:
    """Book a hotel room.

    More details that are not part of the description.

    Args:
        city: The city to book in.
        nights (int): How many nights,
            at least one.
        title: Overridden by the Annotated description.

    Returns:
        The booking.
    """
    return {"city": city, "nights": nights, "price": price, "address": address, "room": room}


# ---------------------------------------------------------------------------- schemas


def test_schema_types_and_required():
    params = book.parameters
    assert params["type"] == "object"
    assert params["required"] == ["city", "nights"]
    props = params["properties"]
    assert list(props) == ["city", "nights", "price", "breakfast", "guests", "room", "note", "address", "title"]
    assert props["city"]["type"] == "string"
    assert props["nights"]["type"] == "integer"
    assert props["price"] == {"type": "number", "default": 99.5}
    assert props["breakfast"] == {"type": "boolean", "default": False}
    assert props["guests"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["room"]["enum"] == ["single", "double"] and props["room"]["default"] == "single"
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


def test_schema_descriptions_from_docstring():
    assert book.name == "book"
    assert book.description == "Book a hotel room."
    props = book.parameters["properties"]
    assert props["city"]["description"] == "The city to book in."
    assert props["nights"]["description"] == "How many nights, at least one."
    assert props["title"]["description"] == "How to address the guest."  # Annotated wins
    assert "description" not in props["price"]


def test_schema_has_no_titles_and_inlines_nested_models():
    text = json.dumps(book.parameters)
    assert '"title": "' not in text.replace('"title": {', "")  # only the parameter named title
    assert "$ref" not in text and "$defs" not in text
    address = book.parameters["properties"]["address"]["anyOf"][0]
    assert address == {
        "type": "object",
        "properties": {"street": {"type": "string"}, "zip_code": {"type": "integer", "default": 0}},
        "required": ["street"],
    }


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_recursive_model_keeps_defs():
    def walk(tree: Node) -> int:
        return tree.value

    params = Tool.from_function(walk).parameters
    assert params["properties"]["tree"] == {"$ref": "#/$defs/Node"}
    assert "title" not in params["$defs"]["Node"]
    assert params["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_unannotated_parameter_accepts_anything():
    t = Tool.from_function(lambda tree: tree, name="identity")
    assert t.parameters["properties"]["tree"] == {}
    assert asyncio.run(t.run({"tree": [1, "x"]})).content == '[1, "x"]'


def test_unresolvable_hint_is_a_clear_error():
    class Local(BaseModel):  # a string annotation (future import) naming a local class
        x: int

    def f(a: Local) -> None:
        pass

    with pytest.raises(TypeError, match="'Local'"):
        Tool.from_function(f)


def test_no_parameters():
    def now() -> str:
        """The time."""
        return "noon"

    assert Tool.from_function(now).parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_spec_and_overrides():
    t = Tool.from_function(book, name="reserve", description="Reserve a room.")
    spec = t.spec
    assert isinstance(spec, ToolSpec) and spec.type == "function"
    assert spec.name == "reserve" and spec.function.description == "Reserve a room."
    assert spec.function.parameters == book.parameters


def test_decorator_with_arguments_and_direct_call():
    @tool(name="adder", timeout=5)
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert isinstance(add, Tool) and add.name == "adder" and add.timeout == 5
    assert add(1) == 3  # still callable as the function


def test_awkward_parameter_names():
    def f(json: str, schema: int = 0, model_config: bool = False, _hidden: int = 1) -> str:
        return f"{json}{schema}{model_config}{_hidden}"

    t = Tool.from_function(f)
    assert list(t.parameters["properties"]) == ["json", "schema", "model_config", "_hidden"]


def test_args_kwargs_are_ignored():
    def f(a: int, *args, **kwargs) -> int:
        return a

    assert list(Tool.from_function(f).parameters["properties"]) == ["a"]


def test_parse_docstring():
    summary, params = parse_docstring(
        """Search the web
        for pages.

        Args:
            query (str): What to look for.
            limit: How many
                results to return.
            **extra: Ignored.

        Raises:
            ValueError: never part of the parameters.
        """
    )
    assert summary == "Search the web for pages."
    assert params == {"query": "What to look for.", "limit": "How many results to return.", "extra": "Ignored."}
    assert parse_docstring(None) == ("", {})


# ---------------------------------------------------------------------------- running


async def test_run_ok_with_json_text_and_dict():
    result = await book.run('{"city": "Rome", "nights": "2"}')  # "2" -> 2: pydantic's lax mode
    assert result == ToolResult(content=json.dumps({"city": "Rome", "nights": 2, "price": 99.5, "address": None, "room": "single"}))
    result = await book.run({"city": "Rome", "nights": 1, "address": {"street": "Via Roma"}})
    assert not result.error
    assert json.loads(result.content)["address"] == {"street": "Via Roma", "zip_code": 0}


async def test_nested_model_arrives_as_model_instance():
    def where(address: Address) -> str:
        assert isinstance(address, Address)
        return address.street

    assert (await Tool.from_function(where).run({"address": {"street": "Main St"}})).content == "Main St"


async def test_function_defaults_apply_to_missing_arguments():
    sentinel = object()

    def f(a: int, b: object = sentinel) -> bool:
        return b is sentinel

    assert (await Tool.from_function(f).run({"a": 1})).content == "true"


async def test_positional_only_parameters():
    def f(a: int = 1, b: int = 2, /, c: int = 3) -> list[int]:
        return [a, b, c]

    assert (await Tool.from_function(f).run({"b": 5})).content == "[1, 5, 3]"


async def test_missing_required():
    result = await book.run({"city": "Rome"})
    assert result.error and result.content.startswith("Error:")
    assert "nights: missing required parameter" in result.content
    assert "Expected: book(city: string, nights: integer" in result.content


async def test_wrong_type_names_parameter_and_expectation():
    result = await book.run({"city": "Rome", "nights": "many", "room": "suite"})
    assert result.error
    assert "nights: Input should be a valid integer" in result.content and '(got "many")' in result.content
    assert "room: Input should be 'single' or 'double'" in result.content


async def test_nested_error_location():
    result = await book.run({"city": "Rome", "nights": 1, "address": {"zip_code": 5}})
    assert result.error and "address.street: missing required field" in result.content


async def test_unknown_parameter():
    result = await book.run({"city": "Rome", "nights": 1, "pets": True})
    assert result.error and "pets: unknown parameter" in result.content


@pytest.mark.parametrize(
    "arguments, words",
    [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object, got an array"), ("3", "got a number"), ([1], "got an array")],
)
async def test_bad_arguments(arguments, words):
    result = await book.run(arguments)
    assert result.error and result.content.startswith("Error:") and words in result.content


async def test_empty_argument_string_means_no_arguments():
    @tool
    def ping() -> str:
        return "pong"

    assert await ping.run("") == ToolResult("pong")
    assert await ping.run("  ") == ToolResult("pong")


async def test_exception_becomes_error_result():
    @tool
    def divide(a: float, b: float) -> float:
        return a / b

    assert await divide.run({"a": 1, "b": 4}) == ToolResult("0.25")
    result = await divide.run({"a": 1, "b": 0})
    assert result.error and result.content == "Error: ZeroDivisionError: float division by zero"


async def test_async_tool():
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0)
        return f"<html>{url}</html>"

    assert await fetch.run({"url": "x"}) == ToolResult("<html>x</html>")

    @tool
    async def broken() -> None:
        raise RuntimeError("down")

    assert await broken.run({}) == ToolResult("Error: RuntimeError: down", error=True)


async def test_sync_tools_run_inline_unless_they_block():
    main = threading.get_ident()

    @tool
    def quick() -> bool:
        return threading.get_ident() != main

    @tool(blocking=True)
    def slow_io() -> bool:
        return threading.get_ident() != main

    assert (await quick.run({})).content == "false"  # in-memory tools: no thread hop
    assert (await slow_io.run({})).content == "true"  # declared blocking: the loop stays free


async def test_timeout_async_and_sync():
    # The work blocks until the test releases it, so "the timeout did not wait for the work" shows as
    # the work still blocked when the result comes back, not as a tight wall-clock bound (which a loaded
    # machine breaks). The 30 s bound only catches a timeout that never fires.
    release, started, finished = threading.Event(), threading.Event(), threading.Event()
    cancelled = asyncio.Event()

    @tool(timeout=0.05)
    async def slow_async() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    @tool(timeout=0.05)
    def slow_sync() -> str:
        started.set()
        release.wait(30)
        finished.set()
        return "late"

    try:
        for t in (slow_async, slow_sync):
            began = time.monotonic()
            result = await t.run({})
            assert result.error and "timed out after 0.05 seconds" in result.content
            assert time.monotonic() - began < 30
        assert cancelled.is_set()  # the async work was cancelled, not left running
        assert started.is_set() and not finished.is_set()  # the sync work began and is still blocked
    finally:
        release.set()  # the sync tool's thread cannot be killed: let it end


async def test_return_values_serialized():
    @dataclass
    class Point:
        x: int
        y: int

    cases = [
        ("text", "text"),
        (3, "3"),
        (None, "null"),
        ({"é": [1, True]}, '{"é": [1, true]}'),
        (Address(street="s"), '{"street": "s", "zip_code": 0}'),
        ([Address(street="s")], '[{"street": "s", "zip_code": 0}]'),
        (Point(1, 2), '{"x": 1, "y": 2}'),
        ({"when": object}, json.dumps({"when": str(object)})),
    ]
    for value, expected in cases:
        t = Tool.from_function(lambda: value, name="f")
        assert (await t.run({})).content == expected


async def test_unserializable_return_falls_back_to_str():
    loop: list = []
    loop.append(loop)  # circular
    t = Tool.from_function(lambda: loop, name="f")
    assert (await t.run({})).content == "[[...]]"


# ---------------------------------------------------------------------------- Toolbox


def _box() -> Toolbox:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return Toolbox([book, add])


def test_toolbox_specs_and_lookup():
    box = _box()
    assert [s.name for s in box.specs()] == ["book", "add"]
    assert "add" in box and len(box) == 2 and box["add"].description == "Add two numbers."
    with pytest.raises(ValueError):
        box.add(book)


async def test_toolbox_call_returns_tool_message():
    call = ToolCall.make("add", {"a": 2, "b": 3})
    message = await _box().call(call)
    assert message.role == "tool" and message.content == "5"
    assert message.tool_call_id == call.id and message.name == "add"


async def test_toolbox_call_error_is_a_message():
    message = await _box().call(ToolCall.make("add", {"a": 2}))
    assert message.role == "tool" and "b: missing required parameter" in message.content


async def test_toolbox_unknown_tool_lists_available():
    call = ToolCall.make("subtract", {"a": 1})
    message = await _box().call(call)
    assert message.role == "tool" and message.tool_call_id == call.id
    assert message.content == "Error: unknown tool 'subtract'. Available tools: book, add."
    assert (await _box().run("nope", {})).error


def test_from_module_file_functions(tmp_path):
    path = tmp_path / "my_tools.py"
    path.write_text(
        textwrap.dedent(
            '''
            from __future__ import annotations
            from os.path import join  # imported: not a tool

            def greet(name: str, excited: bool = False) -> str:
                """Greet someone."""
                return f"Hello {name}{'!' if excited else '.'}"

            def shout(text: str) -> str:
                return text.upper()

            def _helper() -> None:
                pass
            '''
        )
    )
    box = Toolbox.from_module(str(path))
    assert [t.name for t in box] == ["greet", "shout"]
    assert box["greet"].parameters["properties"]["excited"] == {"type": "boolean", "default": False}
    assert asyncio.run(box.run("greet", {"name": "Ada"})).content == "Hello Ada."


def test_from_module_file_prefers_tool_objects(tmp_path):
    path = tmp_path / "decorated.py"
    path.write_text(
        textwrap.dedent(
            """
            from agentforge.runtime.tools import tool

            @tool(name="web_search")
            def search(query: str) -> list[str]:
                return [query]

            def not_a_tool(x: int) -> int:
                return x
            """
        )
    )
    box = Toolbox.from_module(str(path))
    assert [t.name for t in box] == ["web_search"]


def test_from_module_by_name(tmp_path, monkeypatch):
    (tmp_path / "named_tools_mod.py").write_text("def echo(text: str) -> str:\n    return text\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    box = Toolbox.from_module("named_tools_mod")
    assert [t.name for t in box] == ["echo"]


def test_from_module_missing_file():
    with pytest.raises((ImportError, FileNotFoundError, OSError)):
        Toolbox.from_module("/nonexistent/dir/tools.py")
