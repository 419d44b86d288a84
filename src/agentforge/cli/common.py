"""What every `agent` command shares: its consoles, how it fails, and loading a backend.

Expected failures (an unknown backend spec, a missing tools file, an
unreachable server) end with a red message saying what to do and exit code 1,
never a traceback: commands raise `CliError` or call `fail`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Coroutine, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from agentforge.runtime.backends.base import Backend

T = TypeVar("T")

CLIP_CHARS = 500  # tool results and long texts are shown up to this many characters
LOADING_KINDS = ("embedded", "vllm")  # specs whose backend takes a while to come up
EXTRAS = {"embedded": "embedded", "litellm": "litellm", "vllm": "vllm"}


class CliError(Exception):
    """An expected failure: printed in red as it is, then exit code 1."""


def consoles() -> tuple[Console, Console]:
    """(stdout, stderr) consoles."""
    # Made per command (not at import) so that COLUMNS/NO_COLOR and captured streams apply.
    return Console(highlight=False), Console(stderr=True, highlight=False)


def fail(err: Console, message: str, code: int = 1) -> NoReturn:
    """Print `error: message` in red and exit with `code`."""
    err.print(Text("error: ", style="bold red") + Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(code)


def clip(text: str, limit: int = CLIP_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


class Loop:
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


def backend_kwargs(spec: str, retries: int | None) -> dict[str, Any]:
    kind = spec.partition(":")[0]
    return {"max_retries": retries} if retries is not None and kind in ("openai", "litellm") else {}


def missing_package(kind: str, e: ModuleNotFoundError) -> CliError:
    """The error for a backend whose optional dependency is not installed, with the pip command."""
    extra = EXTRAS.get(kind)
    hint = f"pip install 'agentforge[{extra}]'" if extra else f"pip install {e.name}"
    return CliError(f"the {kind!r} backend needs the {e.name!r} package: {hint}")


async def load_backend(spec: str, err: Console, spinner: bool = True, **kw: Any) -> "Backend":
    """make_backend(spec) with a status line while it loads; CliError on the expected failures."""
    from agentforge.runtime.backends import BackendError, make_backend

    kind = spec.partition(":")[0]
    message = "loading model…" if kind in LOADING_KINDS else "connecting…"
    try:
        with err.status(f"{message} [dim]({escape(spec)})[/]") if spinner else contextlib.nullcontext():
            return await make_backend(spec, **kw)
    except ModuleNotFoundError as e:
        raise missing_package(kind, e) from None
    except ValueError as e:  # an unknown spec: the message lists the accepted forms
        raise CliError(str(e)) from None
    except (FileNotFoundError, BackendError) as e:
        raise CliError(f"cannot start backend {spec!r}: {e}") from None
    except Exception as e:  # noqa: BLE001 - a third-party failure while loading: say which and where
        raise CliError(f"cannot start backend {spec!r}: {type(e).__name__}: {e} (run with -v for details)") from None


def run_or_fail(loop: Loop, coro: Coroutine[Any, Any, T], kind: str) -> T:
    """`loop.run(coro)`, a missing optional package (e.g. litellm, imported on the first call) as a CliError."""
    try:
        return loop.run(coro)
    except ModuleNotFoundError as e:
        raise missing_package(kind, e) from None
