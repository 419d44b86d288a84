"""OpenAI-style error responses, and how failures map to them.

Bad input gets a 4xx with a message that says what to change; backend failures
map to 502 (failed), 503 (transient: retry later) and 504 (timeout), except a
prompt the model's context cannot hold, which is the client's to shorten (400).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Sequence

from aiohttp import web
from pydantic import ValidationError

from agentforge.runtime.backends.base import ContextLengthError, TransientBackendError, UnsupportedRequestError

TIMEOUTS = (TimeoutError, asyncio.TimeoutError)  # distinct classes before Python 3.11

class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error", retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        return web.json_response(self.body(), status=self.status, headers=headers)


def backend_error(exc: BaseException) -> ApiError:
    if isinstance(exc, ContextLengthError):
        return ApiError(400, str(exc), param="messages", code="context_length_exceeded")  # it says what to do
    if isinstance(exc, UnsupportedRequestError):
        return ApiError(400, str(exc), code="unsupported_value")
    if isinstance(exc, TIMEOUTS):
        detail = f": {exc}" if str(exc) else ""
        return ApiError(504, f"The model timed out{detail}", code="timeout", type="server_error")
    if isinstance(exc, TransientBackendError):
        return ApiError(503, f"The model is temporarily unavailable: {exc}", code="backend_unavailable", type="server_error")
    return ApiError(502, f"The model failed: {exc}", code="backend_error", type="server_error")


_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


def _loc(loc: Sequence[Any]) -> str:
    # pydantic puts union branch tags ("str", "NamedToolChoice", "list[str]") in the
    # location; clients want the JSON path only
    return ".".join(str(p) for p in loc if isinstance(p, int) or _FIELD.match(str(p)))


def validation_error(exc: ValidationError) -> ApiError:
    errs = exc.errors(include_url=False, include_input=False)
    locs = [_loc(e["loc"]) for e in errs]
    param = locs[0] if errs else ""
    for other in locs[1:]:  # the path all errors share (several for a union field)
        while param and not (other == param or other.startswith(param + ".")):
            param = param.rpartition(".")[0]
    param = param or (locs[0] if locs else "")  # unrelated fields: name the first
    # pydantic prefixes our own ValueErrors' messages with "Value error, ": they read better without it
    lines = list(dict.fromkeys(f"{loc or 'body'}: {e['msg'].removeprefix('Value error, ')}" for loc, e in zip(locs, errs)))
    more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
    return ApiError(400, "Invalid request: " + "; ".join(lines[:3]) + more, param=param or None, code="invalid_value")


def http_error(exc: web.HTTPException) -> ApiError:
    codes = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "request_too_large"}
    return ApiError(exc.status, exc.reason, code=codes.get(exc.status))
