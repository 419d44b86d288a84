"""The OpenAI-compatible HTTP endpoint: `/v1/chat/completions`, `/v1/models`, `/health`.

Any `Backend` can sit behind it, keyed by the model name clients ask for. Bad
input always gets a 4xx with an OpenAI-style error body, never a 5xx; backend
failures map to 502 (failed), 503 (transient: retry later) and 504 (timeout).
The request model is in chat_request.py, the response shapes in chat_response.py,
the bounds on connections in connections.py and limits.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Mapping, Sequence

from aiohttp import web

from agentforge.serving.api_errors import TIMEOUTS, ApiError, backend_error, http_error
from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.serving.chat_request import ChatRequest, read_request
from agentforge.serving.chat_response import chat_completion_body, stream_chat
from agentforge.serving.connections import ConnectionGuard, GuardedSite
from agentforge.serving.host_check import HostCheck
from agentforge.serving.keys import KeyPolicy
from agentforge.serving.keys import find as find_key
from agentforge.serving.keys import policies as key_policies
from agentforge.serving.limits import ServerLimits
from agentforge.serving.openapi import openapi_spec
from agentforge.serving.served_models import model_card, model_cards, model_state

__all__ = ["ApiError", "ChatRequest", "ServerLimits", "api_keys_from_env", "chat_completion_body", "make_app",
           "openapi_spec", "run_server", "serve", "start_server"]

log = logging.getLogger("agentforge.server")

CONNECTIONS = web.AppKey("connections", ConnectionGuard)
LIMITS = web.AppKey("limits", ServerLimits)
VIRTUAL_MODELS = web.AppKey("virtual_models", dict)  # (base, N, selector) -> its BestOfN backend


def api_keys_from_env(var: str = "AGENTFORGE_API_KEYS") -> list[str]:
    return [k.strip() for k in os.environ.get(var, "").split(",") if k.strip()]


def _bearer(request: web.Request) -> str:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _shown(name: str, limit: int = 100) -> str:
    return repr(name if len(name) <= limit else name[:limit] + "...")


def make_app(backends: Mapping[str, Backend], api_keys: Sequence["str | KeyPolicy"] = (),
             limits: ServerLimits | None = None, allow_hosts: Sequence[str] = (),
             aliases: Mapping[str, str] | None = None) -> web.Application:
    """`api_keys`: keys as strings (`KEY[:RPM[:CONCURRENCY]]`) or KeyPolicy objects; none = no auth,
    and then only requests for localhost, an IP address or one of `allow_hosts` are served.
    `aliases`: other names for served models, e.g. the specs they were started from (served_models.py)."""
    aliases = {a: to for a, to in (aliases or {}).items() if to in backends and a not in backends}
    limits = limits or ServerLimits()
    keys = key_policies(api_keys)
    hosts = HostCheck(allow_hosts)

    def foreign(request: web.Request) -> None:
        problem = None if keys else hosts.problem(request.headers)
        if problem is not None:
            raise ApiError(403, hosts.advice(problem), code="host_not_allowed")

    def admit(request: web.Request) -> KeyPolicy | None:
        """The caller's key policy, after checking it and taking one request of its budget."""
        if not keys or not request.path.startswith("/v1/"):
            return None
        policy = find_key(keys, _bearer(request))
        if policy is None:
            raise ApiError(401, "Missing or invalid API key: send 'Authorization: Bearer <key>'",
                           code="invalid_api_key")
        if policy.concurrency and policy.in_flight >= policy.concurrency:
            raise ApiError(429, f"Too many requests in flight for this key (at most {policy.concurrency}); "
                           "retry when one finishes", code="rate_limit_exceeded", type="requests", retry_after=1)
        wait = policy.take()
        if wait:
            raise ApiError(429, f"Rate limit of {policy.rpm:g} requests per minute reached for this key; "
                           f"retry in {wait:.1f} s", code="rate_limit_exceeded", type="requests",
                           retry_after=max(1, int(wait + 0.999)))
        return policy

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        connections = request.app.get(CONNECTIONS)
        if connections is not None:  # the headers are in: no deadline while this request is handled
            connections.request_started(request.transport)
        try:
            return await _answer(request, handler)
        finally:
            if connections is not None:
                connections.request_finished(request.transport)

    async def _answer(request: web.Request, handler: Any) -> web.StreamResponse:
        policy = None
        try:
            foreign(request)
            policy = admit(request)
            if policy is not None:
                policy.in_flight += 1
            try:
                return await handler(request)
            finally:
                if policy is not None:
                    policy.in_flight -= 1
        except ApiError as exc:
            return exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(exc).response()
        except (BackendError, *TIMEOUTS) as exc:  # ContextLengthError among them: a 400
            log.warning("backend failed: %s", exc)
            return backend_error(exc).response()
        except Exception:
            log.exception("unexpected error handling %s %s", request.method, request.path)
            return ApiError(500, "Internal server error", code="internal_error", type="server_error").response()

    # Keyed by what a name means, not how it is spelled (best-of-2, best-of-02...), so it holds
    # at most one entry per served model, N <= max_n and selector, whatever clients send.
    virtual: dict[tuple[str, int, str], Backend] = {}

    def backend_for(name: str) -> Backend:
        if aliases.get(name, name) in backends:
            return backends[aliases.get(name, name)]
        from agentforge.selectors.best_of_n import BestOfN, VirtualModelError, parse_virtual_model

        try:
            parsed = parse_virtual_model(name, max_n=limits.max_n)
        except VirtualModelError as exc:
            raise ApiError(400, str(exc), param="model", code="invalid_model") from None
        if parsed is not None:
            parsed = (aliases.get(parsed[0], parsed[0]), *parsed[1:])
        if parsed is None or parsed[0] not in backends:
            hint = " (and MODEL@best-of-N:SELECTOR of any of them)" if backends else ""
            raise ApiError(404, f"The model {_shown(name)} does not exist; available: {sorted([*backends, *aliases])}{hint}",
                           param="model", code="model_not_found")
        if parsed not in virtual:
            base, n, selector = parsed
            virtual[parsed] = BestOfN(backends[base], n, selector, name=f"{base}@best-of-{n}:{selector}")
        return virtual[parsed]

    async def chat(request: web.Request) -> web.StreamResponse:
        req = await read_request(request, limits)
        backend = backend_for(req.model)
        if req.n > getattr(backend, "n", req.n):  # a best-of-N model returns at most N choices
            raise ApiError(400, f"{_shown(req.model)} returns at most {backend.n} choices; ask for n <= {backend.n}",
                           param="n", code="invalid_value")
        messages = [m.to_message() for m in req.messages]
        tools = list(req.tools) if req.tools else None
        sampling = req.sampling(limits.max_tokens_default())
        if req.stream:
            return await stream_chat(request, req, backend, messages, tools, sampling)
        work = backend.complete(messages, tools, req.n, sampling)
        completions = await (asyncio.wait_for(work, limits.request_timeout) if limits.request_timeout else work)
        return web.json_response(chat_completion_body(req, completions))

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": model_cards(backends, aliases)})

    async def model(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        backend_for(name)
        return web.json_response(model_card(name, aliases.get(name)))

    async def health(request: web.Request) -> web.Response:
        """Liveness (always 200 while serving), with each model's and replica pool's state;
        `?model=NAME`: that one model's state (404 if it is not served)."""
        if "model" in request.query:
            name = request.query["model"]
            return web.json_response({"model": name, **model_state(backend_for(name))})
        pools = {name: b.status() for name, b in backends.items() if callable(getattr(b, "status", None))}
        body: dict[str, Any] = {"status": "ok", "models": {name: model_state(b)["status"] for name, b in backends.items()}}
        if pools:
            body["status"] = "ok" if all(p["healthy"] == len(p["replicas"]) for p in pools.values()) else "degraded"
            body["pools"] = pools
        return web.json_response(body)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(openapi_spec(bool(keys), limits))

    app = web.Application(middlewares=[guard], client_max_size=limits.max_body_bytes)
    app[VIRTUAL_MODELS] = virtual
    app[LIMITS] = limits
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/models/{name:.+}", model)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    return app


# ---------------------------------------------------------------- running it


async def start_server(app: web.Application, host: str = "127.0.0.1", port: int = 0,
                       shutdown_timeout: float = 10.0) -> tuple[web.AppRunner, int]:
    """Start the app; returns the runner (call `.cleanup()`) and the bound port.

    `.cleanup()` gives requests in flight `shutdown_timeout` seconds to finish, then
    cancels them (aiohttp's own 60 s kept `agent serve` alive long after SIGTERM).
    Connections are bounded by the app's ServerLimits (connections.py)."""
    limits = app.get(LIMITS) or ServerLimits()
    app[CONNECTIONS] = connections = ConnectionGuard(limits)
    # handler_cancellation: a client that hangs up cancels its generation
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=shutdown_timeout,
                           keepalive_timeout=limits.keepalive_timeout)
    await runner.setup()
    site = GuardedSite(runner, host, port, connections)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


async def serve(backends: Mapping[str, Backend | str], host: str = "127.0.0.1", port: int = 8000,
                api_keys: Sequence[str] = (), limits: ServerLimits | None = None,
                allow_hosts: Sequence[str] = (), aliases: Mapping[str, str] | None = None) -> None:
    """Serve until cancelled; backends may be given as specs for `make_model`.
    The backends are closed on the way out (that stops a launched vLLM). Without
    api_keys, requests must be addressed to `host`, localhost, an IP address or one of `allow_hosts`."""
    from agentforge.models import make_model

    resolved: dict[str, Backend] = {}
    runner = None
    try:
        for name, b in backends.items():
            resolved[name] = await make_model(b) if isinstance(b, str) else b
        runner, bound = await start_server(make_app(resolved, api_keys, limits, [host, *allow_hosts], aliases), host, port)
        log.info("serving %s on http://%s:%d/v1", ", ".join(resolved), host, bound)
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        for b in resolved.values():
            try:
                await b.aclose()
            except Exception:
                log.exception("closing backend %s failed", getattr(b, "name", b))


def run_server(backends: Mapping[str, Backend | str], host: str = "127.0.0.1", port: int = 8000,
               api_keys: Sequence[str] = (), limits: ServerLimits | None = None,
               allow_hosts: Sequence[str] = (), aliases: Mapping[str, str] | None = None) -> None:
    """Blocking entry point for the CLI; Ctrl-C stops it cleanly."""
    try:
        asyncio.run(serve(backends, host, port, api_keys, limits, allow_hosts, aliases))
    except KeyboardInterrupt:
        pass
