"""`agent chat`: one message or an interactive session, the conversation shown as it happens."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.text import Text

from agentforge.cli.common import CliError, Loop, backend_kwargs, clip, consoles, fail, load_backend, run_or_fail
from agentforge.cli.terminal import terminal_safe

if TYPE_CHECKING:
    from agentforge.runtime.backends.base import Backend
    from agentforge.runtime.messages import Message, Sampling
    from agentforge.runtime.tools import Toolbox
    from agentforge.runtime.trajectory import Step, Trajectory

FEEDBACK_CHARS = 240  # format-error feedback: its start says what was wrong


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
    out, err = consoles()
    try:
        _chat(out, err, prompt, model, tools, system, temperature, top_p, max_tokens, max_steps, tool_choice, seed,
              save, json_out, retries)
    except CliError as e:
        fail(err, str(e))


def _chat(out: Console, err: Console, prompt: str | None, spec: str, tools: str | None, system: str | None,
          temperature: float, top_p: float, max_tokens: int, max_steps: int, tool_choice: str, seed: int | None,
          save: Path | None, json_out: bool, retries: int | None) -> None:
    from agentforge.runtime.messages import Message, Sampling

    # Everything that can be checked without the model first: a typo should not cost a model load.
    toolbox = load_tools(tools) if tools else None
    choice = _tool_choice(tool_choice, toolbox)
    if prompt == "-":
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise CliError("no prompt on stdin")
    if json_out and prompt is None:
        raise CliError("--json needs a PROMPT (it is for one-shot use)")
    sampling = Sampling(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed, tool_choice=choice)
    start = [Message.system(system)] if system else []

    loop = Loop()
    backend = None
    try:
        backend = loop.run(load_backend(spec, err, **backend_kwargs(spec, retries)))
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


def _one_shot(loop: Loop, backend: "Backend", spec: str, messages: list["Message"], toolbox: "Toolbox | None",
              sampling: "Sampling", max_steps: int, save: Path | None, json_out: bool, out: Console,
              err: Console) -> None:
    view = None if json_out else ConversationView(out)
    if view is not None:
        _header(out, backend, toolbox, sampling)
        view.user(messages[-1].content or "")
    started = time.monotonic()
    traj = run_or_fail(loop, _run_turn(backend, messages, toolbox, sampling, max_steps, save, view,
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


def _repl(loop: Loop, backend: "Backend", spec: str, start: list["Message"], toolbox: "Toolbox | None",
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
            traj = run_or_fail(loop, _run_turn(backend, [*messages, Message.user(text)], toolbox, sampling, max_steps,
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


def load_tools(source: str) -> "Toolbox":
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
        self.line(Text("user ", style="bold green"), clip(text))

    def on_step(self, traj: "Trajectory", step: "Step") -> None:
        c = step.completion
        if c.reasoning:
            self.line(Text("thinking ", style="dim bold"), Text(clip(c.reasoning), style="dim italic"))
        if c.content or not (c.tool_calls or c.parse_errors):
            self.line(Text("assistant ", style="bold blue"), c.content or Text("(empty reply)", style="dim"))
        else:  # only tool calls: they follow on their own lines
            self.line(Text("assistant", style="bold blue"))
        if selection := c.metadata.get("selection"):
            self.line(Text(f"  {selection_note(selection)}", style="dim"))
        for call in c.tool_calls:
            self.line(Text("  → ", style="magenta"), Text(f"{call.name}({clip(call.function.arguments)})", style="bold magenta"))
        if c.parse_errors:  # show what the model wrote: the parsed content leaves malformed markup out
            self.line(Text("  ✗ ", style="yellow"), Text(clip(" ".join(c.text.split())), style="yellow"))
        if c.finish_reason == "length":
            self.line(Text("  (cut off at --max-tokens)", style="dim"))
        for obs in step.observations:
            content = obs.content or ""
            if obs.role == "tool":
                failed = content.startswith("Error")
                self.line(Text(f"tool {obs.name or ''} ", style="bold red" if failed else "bold cyan"),
                          Text(clip(content), style="red" if failed else ""))
            else:  # the loop's feedback on a malformed tool call, on one line
                self.line(Text("format error ", style="bold yellow"),
                          Text(clip(" ".join(content.split()), FEEDBACK_CHARS), style="yellow"))
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


def selection_note(selection: dict[str, Any]) -> str:
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
