"""The OpenAPI 3.1 description `agent serve` publishes at /openapi.json."""

from __future__ import annotations

from typing import Any

from agentforge.serving.chat_request import ChatRequest
from agentforge.serving.limits import ServerLimits


def _message_variants(message: dict[str, Any]) -> dict[str, Any]:
    """InMessage as the validators see it: content required except from the assistant, only text
    parts, and a tool message names the call it answers (that an earlier message made that call is
    checked by the server, beyond what a schema can say)."""
    text_part = {"type": "object", "required": ["type", "text"],
                 "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}
    content = [{"type": "string"}, {"type": "array", "items": text_part}]
    variants = []
    for roles, required in ((["system", "developer", "user"], ["content"]), (["tool"], ["content", "tool_call_id"]),
                            (["assistant"], [])):
        props = {**message["properties"], "role": {"enum": roles, "type": "string"},
                 "content": {"anyOf": content if required else [*content, {"type": "null"}]}}
        if "tool_call_id" in required:
            props["tool_call_id"] = {"type": "string", "minLength": 1}
        variants.append({**message, "properties": props, "required": ["role", *required]})
    return {"oneOf": variants, "title": message.get("title", "InMessage")}


def openapi_spec(with_auth: bool = False, limits: ServerLimits | None = None) -> dict[str, Any]:
    """An OpenAPI 3.1 description of the routes; the request schema comes from ChatRequest,
    tightened to what the validators and this server's limits accept."""
    limits = limits or ServerLimits()
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    defs["InMessage"] = _message_variants(defs["InMessage"])
    props = schema["properties"]
    props["n"]["maximum"] = limits.max_n
    props["messages"]["maxItems"] = limits.max_messages
    for name in ("max_tokens", "max_completion_tokens"):
        props[name]["anyOf"][0]["maximum"] = limits.max_tokens
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok_json = {"content": {"application/json": {"schema": {"type": "object"}}}}
    chat_responses = {"200": {"description": "a chat.completion object, or an SSE stream of chunks when stream=true",
                              "content": {"application/json": {"schema": {"type": "object"}},
                                          "text/event-stream": {"schema": {"type": "string"}}}}}
    chat_responses.update({s: err for s in ("400", "401", "403", "404", "408", "413", "429", "502", "503", "504")})
    security = [{"bearer": []}] if with_auth else []
    return {
        "openapi": "3.1.0",
        "info": {"title": "agentforge", "version": "1"},
        "paths": {
            "/v1/chat/completions": {"post": {
                "operationId": "createChatCompletion", "security": security,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ChatRequest"}}}},
                "responses": chat_responses}},
            "/v1/models": {"get": {"operationId": "listModels", "security": security,
                                   "responses": {"200": {"description": "the served models", **ok_json}, "401": err}}},
            "/v1/models/{name}": {"get": {
                "operationId": "retrieveModel", "security": security,
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "one model", **ok_json}, "401": err, "404": err}}},
            "/health": {"get": {
                "operationId": "health",
                "parameters": [{"name": "model", "in": "query", "required": False, "schema": {"type": "string"},
                                "description": "one served model's state only"}],
                "responses": {"200": {"description": "alive, with each model's state", **ok_json}, "404": err}}},
        },
        "components": {
            "schemas": {**defs, "ChatRequest": schema, "Error": error},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }

