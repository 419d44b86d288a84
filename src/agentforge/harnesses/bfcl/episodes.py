"""Running the model on BFCL entries: single-turn candidates and multi-turn episodes.

Outputs are decoded into the official formats the checker reads:
- single-turn: `[{func_name: {arg: value}}, ...]`, or None with a decode error;
- multi-turn: turns -> steps -> calls `{"name", "arguments"}`; a step that ends
  the turn (plain text, or calls that do not decode) is an empty list.
The multi-turn loop follows the official inference loop: per user turn the
model calls tools until it answers without one; too many steps in a turn
(multi_turn.step_limit_reached) force-quits the whole entry. The tools run in
a worker process with a time limit per call (env_worker); a stopped call keeps
its result in the recorded turns (multi_turn.STOPPED).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from agentforge.harnesses.bfcl.data import functions_at_turn, is_holdout_turn
from agentforge.harnesses.bfcl.env_worker import EnvWorker
from agentforge.harnesses.bfcl.multi_turn import STOPPED, MultiTurnEnv, step_limit_reached
from agentforge.harnesses.bfcl.prompts import added_functions_message, prepare_functions, to_tools, with_system_prompt
from agentforge.runtime.backends.base import Backend, BackendError
from agentforge.runtime.messages import Completion, Message, Sampling
from agentforge.runtime.parsing import parse_pythonic
from agentforge.runtime.trajectory import Step, Trajectory


@dataclass
class Decoded:
    calls: list[dict] | None  # [{"name", "arguments"}], None when the turn did not decode
    error: str | None = None

    def official(self) -> list[dict] | None:
        """The official single-turn format `[{name: arguments}]`."""
        return None if self.calls is None else [{c["name"]: c["arguments"]} for c in self.calls]


def decode_fc(completion: Completion, names: dict[str, str]) -> Decoded:
    """Native tool calls back to BFCL names; malformed calls fail the whole turn."""
    if completion.parse_errors:
        return Decoded(None, "; ".join(completion.parse_errors))
    calls = []
    for call in completion.tool_calls:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError as e:
            return Decoded(None, f"arguments of {call.function.name} are not JSON: {e}")
        if not isinstance(arguments, dict):
            return Decoded(None, f"arguments of {call.function.name} are not an object")
        calls.append({"name": names.get(call.function.name, call.function.name), "arguments": arguments})
    return Decoded(calls)


def decode_prompt(text: str) -> Decoded:
    """Prompt mode: a pythonic `[f(a=1), g(b='x')]` list in the text."""
    parsed = parse_pythonic(text)
    if parsed.errors:
        return Decoded(None, "; ".join(str(e) for e in parsed.errors))
    return Decoded([{"name": c.function.name, "arguments": json.loads(c.function.arguments)} for c in parsed.tool_calls])


@dataclass
class Setup:
    """The conversation and tools an entry starts with, in one mode."""

    mode: str  # fc | prompt
    messages: list[Message]
    tools: list | None
    names: dict[str, str] = field(default_factory=dict)

    def decode(self, completion: Completion) -> Decoded:
        return decode_fc(completion, self.names) if self.mode == "fc" else decode_prompt(completion.text)

    def assistant(self, completion: Completion) -> Message:
        # prompt mode keeps the raw call list the model wrote
        return completion.message() if self.mode == "fc" else Message(role="assistant", content=completion.text)


def setup(entry: dict, category: str, mode: str, first_turn: list[dict]) -> Setup:
    functions = prepare_functions(entry.get("function", []), category)
    if mode == "fc":
        tools, names = to_tools(functions)
        return Setup(mode, [Message.model_validate(m) for m in first_turn], tools or None, names)
    if mode == "prompt":
        return Setup(mode, with_system_prompt(first_turn, functions), None)
    raise ValueError(f"unknown BFCL mode {mode!r}: use fc or prompt")


async def single_turn(backend: Backend, entry: dict, category: str, mode: str, n: int,
                      sampling: Sampling) -> list[tuple[Decoded, Completion]]:
    """n candidates for a single-turn entry, in one request."""
    s = setup(entry, category, mode, entry["question"][0])
    completions = await backend.complete(s.messages, s.tools, n, sampling)
    if len(completions) != n:
        raise BackendError(f"asked for {n} candidates, the backend returned {len(completions)}")
    return [(s.decode(c), c) for c in completions]


@dataclass
class Episode:
    turns: list[list[list[dict]]]  # turns -> steps -> calls {"name", "arguments"}
    trajectory: Trajectory
    completions: list[Completion]
    force_quit: bool = False


async def multi_turn(backend: Backend, entry: dict, category: str, mode: str, sampling: Sampling,
                     env: MultiTurnEnv, task_id: str = "", call_timeout: float | None = None) -> Episode:
    """One multi-turn episode. `env` gives the backends' starting state; they run
    in a worker process (`env` itself stays as it is), each call for at most
    `call_timeout` seconds (default env_worker.call_timeout())."""
    async with EnvWorker(env, timeout=call_timeout) as worker:
        worker.start_soon()  # while the model writes its first reply
        return await _episode(backend, entry, category, mode, sampling, worker, task_id)


async def _episode(backend: Backend, entry: dict, category: str, mode: str, sampling: Sampling,
                   worker: EnvWorker, task_id: str) -> Episode:
    s: Setup | None = None
    traj = Trajectory(task_id=task_id, messages=[])
    episode = Episode(turns=[], trajectory=traj, completions=[])
    for index, turn in enumerate(entry["question"]):
        if s is None:
            s = setup(entry, category, mode, turn)
            traj.messages.extend(s.messages)
        else:
            if is_holdout_turn(entry, index):  # held-out functions join the tools from this turn on
                now = setup({**entry, "function": functions_at_turn(entry, index)}, category, mode, [])
                s.tools, s.names = now.tools, now.names
                added = entry["missed_function"][str(index)]
                user = [added_functions_message(prepare_functions(added, category), mode)]
            else:
                user = [Message.model_validate(m) for m in turn]
            traj.messages.extend(user)
        steps: list[list[dict]] = []
        while True:
            completion = (await backend.complete(traj.messages, s.tools, 1, sampling))[0]
            episode.completions.append(completion)
            traj.messages.append(s.assistant(completion))
            step = Step(completion=completion)
            traj.steps.append(step)
            decoded = s.decode(completion)
            if not decoded.calls:  # plain answer or undecodable: the turn is over
                steps.append([])
                break
            steps.append(decoded.calls)
            results = await _execute(worker, decoded.calls)
            step.observations = _observations(s, completion, decoded.calls, results)
            traj.messages.extend(step.observations)
            if step_limit_reached(len(steps)):  # every step so far made calls
                episode.force_quit = True
                break
        episode.turns.append(steps)
        if episode.force_quit:
            break
    traj.status = "step_limit" if episode.force_quit else "done"
    return episode


async def _execute(worker: EnvWorker, calls: list[dict]) -> list[str]:
    """Run one step's calls in order; a stopped call's result is recorded with it,
    so that scoring and a resumed run never run it again."""
    results = []
    for call in calls:
        outcome = await worker.execute(call["name"], call["arguments"])
        if outcome.stopped:
            call[STOPPED] = outcome.result
        results.append(outcome.result)
    return results


def _observations(s: Setup, completion: Completion, calls: list[dict], results: list[str]) -> list[Message]:
    if s.mode == "fc":
        return [Message.tool(r, tc.id, tc.function.name) for tc, r in zip(completion.tool_calls, results)]
    # prompt mode has no call ids; the results go back as tool turns named by the call
    return [Message.tool(r, None, c["name"]) for c, r in zip(calls, results)]
