"""The coding agent loop: issue in, patch out.

    result = await run_coding_agent(backend, box, issue)   # box: a started Sandbox on a git checkout
    result.status, result.patch, result.trajectory

One turn = one model call = one step: the reply's action runs in the sandbox
and its observation goes back to the model, until the agent submits (its
command prints the sentinel first) or a limit stops the run. Whatever stops
it, the result carries `git diff` of the workspace against the starting
commit, computed inside the sandbox. The loop never raises for model,
command or sandbox failures; it records them and stops with a status.

The Trajectory is saved after every step. Its `status` uses the runtime's
names (done, step_limit, token_limit, time_limit, error); the coding status
(submitted, step_limit, context_exhausted, time_limit, model_error) is in
`trajectory.metadata["coding_status"]`, and the command each step ran in
`metadata["actions"]`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from agentforge.runtime.agent import StepHook, after_step
from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.runtime.coding.actions import EDITOR_NAME, parse_action
from agentforge.runtime.coding.env import CodingEnv
from agentforge.runtime.coding.prompts import NO_TOOL_CALL, instance_prompt, system_prompt
from agentforge.runtime.coding.toolset import coding_toolbox
from agentforge.runtime.messages import Completion, Message, Sampling
from agentforge.runtime.parsing import split_reasoning
from agentforge.runtime.sandbox import Sandbox
from agentforge.runtime.token_signals import candidate_signals
from agentforge.runtime.trajectory import Step, Trajectory

CodingStatus = Literal["submitted", "step_limit", "context_exhausted", "time_limit", "model_error"]
ActionFormat = Literal["text", "tools"]
TRAJECTORY_STATUS = {"submitted": "done", "step_limit": "step_limit", "context_exhausted": "token_limit",
                     "time_limit": "time_limit", "model_error": "error"}
CHARS_PER_TOKEN = 4  # the estimate for text no model has tokenized yet


@dataclass
class CodingLimits:
    max_steps: int = 200  # model calls (the paper's SWE-bench setting)
    context_tokens: int = 64_000  # approximate conversation size at which the run stops (the paper: 64k)
    max_seconds: float | None = None  # wall clock for the whole run
    command_timeout: float | None = None  # per command; None = the sandbox's Limits.timeout


@dataclass
class CodingResult:
    status: CodingStatus
    patch: str  # git diff against base_commit ("" when nothing changed or the diff failed)
    steps: int
    trajectory: Trajectory
    base_commit: str | None = None
    error: str | None = None  # a model error, or why the diff could not be taken
    token_logprobs: list[float] = field(default_factory=list)  # every generated token, all steps
    token_confidences: list[float] = field(default_factory=list)  # DeepConf token confidence, same tokens

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"

    @property
    def completions(self) -> list[Completion]:
        return self.trajectory.completions

    @property
    def confidence(self) -> float:
        """Agent Confidence: mean token confidence over the agent's tokens (-inf without logprobs)."""
        c = self.token_confidences
        return sum(c) / len(c) if c else float("-inf")


async def run_coding_agent(
    backend: Backend,
    box: Sandbox,
    issue: str,
    *,
    action_format: ActionFormat = "text",
    sampling: Sampling | None = None,
    limits: CodingLimits | None = None,
    base_commit: str | None = None,
    top_logprobs: int | None = None,
    task_id: str = "",
    save_to: str | Path | None = None,
    on_step: StepHook | None = None,
    system: str | None = None,
    prompt: str | None = None,
) -> CodingResult:
    """Run the agent on `issue` in `box` (already started, its workspace a git checkout).

    `base_commit` is what the patch is taken against (default: HEAD when the
    run starts). `top_logprobs` asks the backend for that many alternatives
    per token (the confidence selectors need them). `system` / `prompt`
    replace the default system and instance prompts.
    """
    if action_format not in ("text", "tools"):
        raise ValueError(f"unknown action format {action_format!r}; use 'text' or 'tools'")
    limits = limits or CodingLimits()
    sampling = sampling or Sampling()
    if top_logprobs:
        sampling = sampling.merged(logprobs=True, top_logprobs=top_logprobs)
    started = time.monotonic()
    deadline = None if limits.max_seconds is None else started + limits.max_seconds
    env = CodingEnv(box, command_timeout=limits.command_timeout, deadline=deadline)
    toolbox = coding_toolbox(env) if action_format == "tools" else None
    tools = toolbox.specs() if toolbox is not None else None
    if base_commit is None:
        base_commit = await _head(box)

    messages = [Message.system(system or system_prompt(action_format)),
                Message.user(prompt or instance_prompt(issue, box.workdir, action_format))]
    traj = Trajectory(task_id=task_id, messages=messages,
                      metadata={"action_format": action_format, "base_commit": base_commit, "actions": []})
    status: CodingStatus | None = None
    error: str | None = None
    while status is None:
        if len(traj.steps) >= limits.max_steps:
            status = "step_limit"
            break
        if _context_tokens(traj) > limits.context_tokens:
            status = "context_exhausted"
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            status = "time_limit"
            break
        try:
            completion = await asyncio.wait_for(_one(backend, traj.messages, tools, sampling),
                                                None if deadline is None else deadline - now)
        except asyncio.TimeoutError:
            status = "time_limit"
            break
        except BackendError as e:
            status, error = "model_error", str(e)
            break
        step = Step(completion=completion, model_seconds=time.monotonic() - now)
        traj.messages.append(completion.message())
        acted = time.monotonic()
        if action_format == "text":
            step.observations, action = await _text_turn(env, completion, step)
        else:
            step.observations, action = await _tool_turn(env, toolbox, completion, step)
        step.tool_seconds = time.monotonic() - acted
        traj.messages.extend(step.observations)
        traj.steps.append(step)
        traj.metadata["actions"].append(action)
        if env.submitted:
            status = "submitted"
        await after_step(traj, step, save_to, on_step)

    patch = ""
    try:
        patch = await box.diff(base_commit)
    except Exception as e:  # noqa: BLE001 - a broken sandbox or workspace: the run still ends with a result
        error = f"{error}; " if error else ""
        error += f"could not take the diff: {e}"
    traj.status = TRAJECTORY_STATUS[status]  # type: ignore[assignment]
    traj.error = error
    traj.finished_at = time.time()
    traj.metadata.update(coding_status=status, patch=patch)
    if save_to is not None:
        await asyncio.to_thread(traj.save, save_to)
    logprobs, confidences = candidate_signals(traj.completions)
    return CodingResult(status=status, patch=patch, steps=len(traj.steps), trajectory=traj,
                        base_commit=base_commit, error=error, token_logprobs=logprobs,
                        token_confidences=confidences)


# ---------------------------------------------------------------- one turn


async def _text_turn(env: CodingEnv, completion: Completion, step: Step) -> tuple[list[Message], str]:
    text = completion.content if completion.content is not None else completion.text
    _, text = split_reasoning(text)  # a ```bash block inside <think> is not an action
    action = parse_action(text)
    if action.command is None:  # zero or several bash blocks
        step.error = "format error"
        return [Message.user(action.error or "")], ""
    if action.error:  # an editor call with arguments that do not parse
        observation = f"<returncode>2</returncode>\n<output>\n{action.error}\n</output>"
    elif action.editor_args is not None:
        observation = await env.edit_observation(action.editor_args)
    else:
        observation = await env.bash(action.command)
        if EDITOR_NAME in action.command and "command not found" in observation:
            observation += f"\nNote: {EDITOR_NAME} works only as the whole command, not after cd, && or a pipe."
    return [Message.user(observation)], action.command


async def _tool_turn(env: CodingEnv, toolbox, completion: Completion, step: Step) -> tuple[list[Message], str]:
    out: list[Message] = []
    actions: list[str] = []
    for call in completion.tool_calls:
        if env.submitted:  # the calls after a submission are not run, but each call needs its answer
            out.append(Message.tool("Not run: the task was already submitted.", call.id, call.name))
            continue
        out.append(await toolbox.call(call))
        actions.append(_describe_call(call))
    if completion.parse_errors or not completion.tool_calls:
        step.error = "format error"
        problems = "".join(f"\n- {e}" for e in completion.parse_errors)
        note = f"Some tool calls could not be parsed:{problems}\n" if problems else ""
        out.append(Message.user(note + NO_TOOL_CALL if not completion.tool_calls else note.rstrip()))
    return out, "; ".join(actions)


def _describe_call(call) -> str:
    try:
        args = call.parsed_arguments()
    except ValueError:
        return f"{call.name}(…)"
    if not isinstance(args, dict):
        return call.name
    if call.name == "bash":
        return str(args.get("command", ""))
    return f"{EDITOR_NAME} {args.get('command', '')} {args.get('path', '')}".strip()


# ---------------------------------------------------------------- helpers


async def _one(backend: Backend, messages: Sequence[Message], tools, sampling: Sampling) -> Completion:
    completions = await backend.complete(messages, tools, 1, sampling)
    if not completions:
        raise BackendError("the backend returned no completion")
    return completions[0]


async def _head(box: Sandbox) -> str | None:
    try:
        result = await box.exec("git rev-parse HEAD", timeout=60)
    except Exception:  # noqa: BLE001 - no commit to diff against: diff() will say so at the end
        return None
    return result.output.strip() if result.ok else None


def _context_tokens(traj: Trajectory) -> int:
    """Approximate tokens of the conversation: the last model call's exact count
    (prompt + completion, when the backend reports it) plus an estimate of what
    was appended since; characters / 4 where nothing was counted yet."""
    if traj.steps:
        last = traj.steps[-1]
        usage = last.completion.usage
        if usage.prompt_tokens > 0:
            after = sum(len(m.content or "") for m in last.observations)
            return usage.prompt_tokens + usage.completion_tokens + after // CHARS_PER_TOKEN
    return sum(_chars(m) for m in traj.messages) // CHARS_PER_TOKEN


def _chars(m: Message) -> int:
    return len(m.content or "") + sum(len(c.function.arguments) + len(c.name) for c in m.tool_calls or ())

