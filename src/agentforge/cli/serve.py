"""`agent serve`: models (replica pools, routers) over an OpenAI-compatible HTTP API."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from agentforge.cli.common import CliError, consoles, fail, load_backend

if TYPE_CHECKING:
    from agentforge.runtime.backends.base import Backend


def serve(
    model: Annotated[Optional[List[str]], typer.Option("--model", "-m", help="Backend spec to serve; repeat for "
                                                       "several models. SPEC*K runs K replicas of it. Default: "
                                                       "embedded.")] = None,
    name: Annotated[Optional[List[str]], typer.Option("--name", help="The name clients use for each --model, in "
                                                      "the same order (default: the backend's own name). Models "
                                                      "given the same name are pooled as replicas: sticky sessions, "
                                                      "least-loaded balancing, health checks, failover.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    api_key: Annotated[Optional[List[str]], typer.Option("--api-key", help="Accepted API key as KEY, KEY:RPM or "
                                                         "KEY:RPM:CONCURRENCY (per-key limits); repeatable. Also "
                                                         "read from AGENTFORGE_API_KEYS (comma-separated).")] = None,
    router: Annotated[Optional[List[Path]], typer.Option("--router", help="A router file (TOML/JSON, see `agent "
                                                         "route`): serves a model that sends each request to one "
                                                         "of its specialists; repeatable.")] = None,
    max_n: Annotated[Optional[int], typer.Option("--max-n", min=1, help="Largest n a request may ask for.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="Largest max_tokens a request "
                                                      "may ask for.")] = None,
    default_max_tokens: Annotated[Optional[int], typer.Option("--default-max-tokens", min=1, help="max_tokens of "
                                                              "a request that sets none (default 1024, at most "
                                                              "--max-tokens): a small model sampled at temperature "
                                                              "1 can ramble for minutes.")] = None,
    allow_host: Annotated[Optional[List[str]], typer.Option("--allow-host", help="Without --api-key, requests must "
                                                            "be addressed to localhost, an IP address or --host; "
                                                            "serve this host name too (repeatable). Stops web pages "
                                                            "from driving the server (DNS rebinding).")] = None,
) -> None:
    """Serve models over an OpenAI-compatible HTTP API until Ctrl-C.

    Every model also answers as MODEL@best-of-N:SELECTOR (test-time scaling by model name), and
    one without --name also as the spec it was started from (`-m embedded:int8` -> `embedded:int8`)."""
    from agentforge.serving.keys import policies as key_policies
    from agentforge.serving.server import ServerLimits, api_keys_from_env

    out, err = consoles()
    specs = model or ["embedded"]
    names = name or []
    if len(names) > len(specs):
        fail(err, f"{len(names)} --name for {len(specs)} --model; give at most one name per model")
    try:
        from agentforge.serving.pool import group_specs

        group_specs(specs, names)  # a malformed SPEC*K fails before any model loads
    except ValueError as e:
        fail(err, f"--model {e}")
    keys = list(dict.fromkeys([*(api_key or []), *api_keys_from_env()]))
    try:
        key_policies(keys)  # a malformed KEY:RPM:CONCURRENCY fails before any model loads
    except ValueError as e:
        fail(err, f"--api-key {e}")
    given = {"max_n": max_n, "max_tokens": max_tokens, "default_max_tokens": default_max_tokens}
    limits = ServerLimits(**{k: v for k, v in given.items() if v is not None})
    try:
        asyncio.run(_serve(specs, names, host, port, keys, limits, out, err, router or [], allow_host or []))
    except CliError as e:
        fail(err, str(e))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    out.print("[dim]stopped[/]")


async def _load_upstream(name: str | None, specs: list[str], err: Console) -> "Backend":
    """One backend, or a pool over several replicas (loaded side by side: vLLM launches take minutes)."""
    from agentforge.serving.pool import UpstreamPool, replica_kwargs

    if len(specs) == 1:
        return await load_backend(specs[0], err)
    err.print(f"starting {len(specs)} replicas of {escape(name or specs[0])}…")
    loads = [load_backend(s, err, spinner=False, **replica_kwargs(s, i, len(specs))) for i, s in enumerate(specs)]
    results = await asyncio.gather(*loads, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        for r in results:
            if not isinstance(r, BaseException):
                await r.aclose()
        raise failed[0]
    return UpstreamPool(results, name, replica_names=[f"{name}#{i} ({s})" for i, s in enumerate(specs)])


async def _load_router(path: Path, backends: dict[str, "Backend"], err: Console) -> Any:
    from agentforge.routing import RoutingError, load_router

    try:
        with err.status(f"loading router [dim]({escape(str(path))})[/]"):
            return await load_router(path, backends)
    except RoutingError as e:
        raise CliError(str(e)) from None


async def _serve(specs: list[str], names: list[str], host: str, port: int, keys: list[str], limits: Any,
                 out: Console, err: Console, routers: list[Path], allow_hosts: list[str] = ()) -> None:
    from agentforge.serving.pool import group_specs
    from agentforge.serving.served_models import spec_aliases
    from agentforge.serving.server import serve as run

    # SIGTERM (process managers, docker stop) shuts down like Ctrl-C: backends are closed, a vLLM stopped.
    # SIGINT gets the same handler: a process started in the background by a script inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt, so `kill -INT` would do nothing.
    task = asyncio.current_task()
    try:
        if task is not None:
            for stop_signal in (signal.SIGTERM, signal.SIGINT):
                asyncio.get_running_loop().add_signal_handler(stop_signal, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        pass

    backends: dict[str, "Backend"] = {}
    sources: dict[str, str] = {}
    by_spec: dict[str, "Backend"] = {}  # a router file may name a served model by its spec
    started_from: list[tuple[str, list[str]]] = []  # an unnamed model answers to its spec too
    try:
        for given, replicas in group_specs(specs, names):
            backend = await _load_upstream(given, replicas, err)
            served = given or backend.name
            if served in backends:
                await backend.aclose()
                raise CliError(f"two models are served as {served!r}; tell them apart with --name "
                               "(or give both the same --name to pool them as replicas)")
            backends[served] = backend
            by_spec[replicas[0]] = backend
            if given is None:  # a model the user named answers to that name only
                started_from.append((served, replicas))
            sources[served] = replicas[0] if len(replicas) == 1 else f"{len(replicas)} replicas: {', '.join(replicas)}"
        for path in routers:
            routed = await _load_router(path, {**by_spec, **backends}, err)
            if routed.name in backends:
                await routed.aclose()
                raise CliError(f"router {path} is named {routed.name!r}, like a served model; rename it in the file")
            backends[routed.name] = routed
            sources[routed.name] = f"router {path}: {', '.join(routed.specialists)}"
    except BaseException:
        for b in backends.values():
            await b.aclose()
        raise

    aliases = spec_aliases(started_from)
    url = f"http://{host}:{port}/v1"
    out.print(Text.assemble(("agentforge ", "bold"), "serving on ", (url, "bold cyan")), soft_wrap=True)
    for served, source in sources.items():
        also = [a for a, to in aliases.items() if to == served]
        note = "; also answers as " + ("that spec" if also == [source] else ", ".join(also)) if also else ""
        out.print(Text.assemble("  model ", (served, "bold"), (f"  ({source}{note})", "dim")), soft_wrap=True)
    if keys:
        out.print(f"  auth  on: {len(keys)} key{'s' if len(keys) != 1 else ''} (send 'Authorization: Bearer <key>')")
    else:
        warn = "" if host in ("127.0.0.1", "localhost", "::1") else " [yellow]- anyone who can reach it may use it[/]"
        out.print(f"  auth  off{warn}")
    auth = " -H 'Authorization: Bearer <key>'" if keys else ""  # the keys themselves are never printed
    out.print(f"[dim]  try: curl{auth} {url}/models   ·   Ctrl-C to stop[/]", soft_wrap=True, highlight=False)
    try:
        await run(backends, host, port, keys, limits, allow_hosts, aliases)
    except OSError as e:
        raise CliError(f"cannot listen on {host}:{port}: {e.strerror or e}; is another server using it? "
                       "pick another with --port") from None
