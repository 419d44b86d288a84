"""The agent loop: model -> tool calls -> tool results -> ... -> final answer.

Deliberately small (mini-swe-agent style). Everything the loop learns goes
into the Trajectory, which is saved after every step; the loop never raises
for model or tool failures, it records them and stops with a status.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Sequence

from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.runtime.messages import Completion, Message, Sampling
from agentforge.runtime.tools import Toolbox
from agentforge.runtime.trajectory import Step, Trajectory

PLACEHOLDERS = {"string": "...", "integer": 0, "number": 0.0, "boolean": False, "array": [], "object": {}}


def format_help(toolbox: Toolbox) -> str:
    """How to call a tool, with a valid example built from a real tool: small
    models copy the example they are shown, so it must at least parse."""
    spec = next(iter(toolbox.specs()), None)
    example: dict = {"name": spec.name if spec else "tool_name", "arguments": {}}
    if spec:
        props = spec.function.parameters.get("properties", {})
        for key in spec.function.parameters.get("required", []):
            example["arguments"][key] = PLACEHOLDERS.get(props.get(key, {}).get("type"), "...")
    return (
        f"Call a tool like this:\n<tool_call>\n{json.dumps(example)}\n</tool_call>\n"
        "or answer without a tool call when you are done."
    )


@dataclass
class Limits:
    max_steps: int = 30  # model calls
    max_tokens: int | None = None  # generated tokens over the whole episode
    max_seconds: float | None = None  # wall clock for the whole episode


StepHook = Callable[[Trajectory, Step], Awaitable[None] | None]


async def run_agent(
    backend: Backend,
    messages: Sequence[Message],
    toolbox: Toolbox | None = None,
    *,
    sampling: Sampling | None = None,
    limits: Limits | None = None,
    task_id: str = "",
    save_to: str | Path | None = None,
    on_step: StepHook | None = None,
    reset_tool_choice: bool = True,
) -> Trajectory:
    """Run one episode. A forced `tool_choice` ("required" or a named function)
    applies until the first tool call, then resets to "auto" (unless
    reset_tool_choice is False) so the agent can still give a final answer."""
    sampling = sampling or Sampling()
    limits = limits or Limits()
    toolbox = toolbox or Toolbox([])
    tools = toolbox.specs() or None
    traj = Trajectory(task_id=task_id, messages=list(messages))
    deadline = None if limits.max_seconds is None else time.monotonic() + limits.max_seconds

    while traj.status == "running":
        if len(traj.steps) >= limits.max_steps:
            traj.status = "step_limit"
            break
        budget = sampling.max_tokens
        if limits.max_tokens is not None:
            budget = min(budget, limits.max_tokens - traj.generated_tokens)
            if budget <= 0:
                traj.status = "token_limit"
                break
        started = time.monotonic()
        try:
            timeout = None if deadline is None else max(deadline - started, 0.0)
            completion = await asyncio.wait_for(
                _one(backend, traj.messages, tools, sampling.merged(max_tokens=budget)), timeout
            )
        except asyncio.TimeoutError:
            traj.status = "time_limit"
            break
        except BackendError as e:
            traj.status, traj.error = "error", str(e)
            break
        step = Step(completion=completion, model_seconds=time.monotonic() - started)
        traj.messages.append(completion.message())
        tools_started = time.monotonic()
        step.observations = await _observe(completion, toolbox)
        step.tool_seconds = time.monotonic() - tools_started
        traj.messages.extend(step.observations)
        traj.steps.append(step)
        if completion.tool_calls and reset_tool_choice and sampling.tool_choice not in (None, "auto", "none"):
            sampling = sampling.merged(tool_choice="auto")
        if not step.observations:  # no tool call and no format error: the final answer
            traj.status = "done"
        await after_step(traj, step, save_to, on_step)

    traj.finished_at = time.time()
    if save_to is not None:
        traj.save(save_to)
    return traj


async def _one(backend: Backend, messages, tools, sampling: Sampling) -> Completion:
    completions = await backend.complete(messages, tools, 1, sampling)
    if not completions:
        raise BackendError("the backend returned no completion")
    return completions[0]


async def _observe(completion: Completion, toolbox: Toolbox) -> list[Message]:
    """Run the turn's tool calls in order; malformed calls become feedback."""
    out = [await toolbox.call(call) for call in completion.tool_calls]
    if completion.parse_errors:
        problems = "\n".join(f"- {e}" for e in completion.parse_errors)
        out.append(Message.user(f"Your tool call could not be parsed:\n{problems}\n{format_help(toolbox)}"))
    return out


async def after_step(traj: Trajectory, step: Step, save_to, on_step: StepHook | None) -> None:
    if save_to is not None:
        await asyncio.to_thread(traj.save, save_to)
    if on_step is not None:
        result = on_step(traj, step)
        if asyncio.iscoroutine(result):
            await result
