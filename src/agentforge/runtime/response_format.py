"""`response_format` of a chat request: the accepted shapes, how they combine
with tools, (the grammar the embedded engine decodes
them under is backends/format_grammar.py).

The shapes are OpenAI's:
    {"type": "text"}                                          (the default)
    {"type": "json_object"}                                   the content is a JSON object
    {"type": "json_schema", "json_schema": {"name": N, "schema": {...}, "strict": bool}}
                                                              the content is JSON valid under the schema
OpenAI-compatible upstreams (the openai, vllm and litellm backends) get the
format passed through and enforce it themselves; the embedded engine decodes
under a grammar (llguidance `%json`, the machinery of tool_grammar.py).

With tools: a format constrains the *content* of the turn, so
- tool_choice "auto" (or unset): the turn is tool calls or content in the
  format (as with OpenAI); the embedded grammar allows exactly those two;
- tool_choice "none" or no tools: content in the format;
- tool_choice "required" or a named function forces a call, leaving no content
  for the format to apply to: that request is a 400 (drop one of the two).

Schema choices on the embedded engine (stated because they change the output):
objects that declare properties are closed (no extra keys; the output still
validates against the schema), JSON is written compactly (", " and ": ", no
free whitespace: a small model given free whitespace can loop on newlines).
A schema llguidance cannot compile is an error with `strict: true` and is
loosened (unknown keywords ignored, else any JSON) with a warning otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

ACCEPTED = ('{"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": '
            '{"name": "...", "schema": {...}, "strict": true}}')


class TextFormat(BaseModel):
    type: Literal["text"]


class JsonObjectFormat(BaseModel):
    type: Literal["json_object"]


class JsonSchemaSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for the name
    description: str | None = None
    # `schema` shadows a BaseModel attribute, hence the alias; missing = any JSON value
    json_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(BaseModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


_TAGS = {"text": "TextFormat", "json_object": "JsonObjectFormat", "json_schema": "JsonSchemaFormat"}


def _tag(value: Any) -> str | None:
    # tagged by class name, not by `type`: error locations then read response_format.json_schema.name
    return _TAGS.get(value.get("type") if isinstance(value, dict) else getattr(value, "type", None))


ResponseFormat = Annotated[Union[Annotated[TextFormat, Tag("TextFormat")],
                                 Annotated[JsonObjectFormat, Tag("JsonObjectFormat")],
                                 Annotated[JsonSchemaFormat, Tag("JsonSchemaFormat")]], Discriminator(_tag)]


def check_shape(value: Any) -> Any:
    """Before pydantic sees it: a format without a known `type` gets a message that says what is accepted."""
    if value is None:
        return value
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in _TAGS:
        shown = f"type {kind!r}" if isinstance(value, dict) and "type" in value else repr(value)[:80]
        raise ValueError(f"unsupported response_format ({shown}); accepted: {ACCEPTED}")
    return value


def wire_format(fmt: TextFormat | JsonObjectFormat | JsonSchemaFormat | None) -> dict[str, Any] | None:
    """The format as backends get it (OpenAI's JSON shape), or None for plain text."""
    if fmt is None or isinstance(fmt, TextFormat):
        return None
    return fmt.model_dump(by_alias=True, exclude_none=True)


def conflict(response_format: dict[str, Any] | None, tool_choice: Any) -> str | None:
    """Why this format cannot be combined with this tool_choice, or None."""
    if response_format is None:
        return None
    forced = tool_choice == "required" or (isinstance(tool_choice, dict) and tool_choice.get("function"))
    if not forced:
        return None
    what = "'required'" if tool_choice == "required" else f"function {tool_choice['function'].get('name')!r}"
    return (f"response_format {response_format['type']} shapes the answer's content, but tool_choice {what} forces "
            "a tool call instead; drop one of them (with tool_choice 'auto' the model may call a tool or "
            "answer in the format)")


def schema_of(response_format: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The JSON schema the content must follow, and whether it is strict."""
    if response_format["type"] == "json_object":
        return {"type": "object"}, False
    spec = response_format["json_schema"]
    return spec.get("schema") or {}, bool(spec.get("strict"))
