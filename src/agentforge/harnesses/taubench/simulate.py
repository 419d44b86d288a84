"""One τ² simulation: the official orchestrator, agent and user simulator, with our backends as the LLMs.

The orchestrator (`tau2.orchestrator.Orchestrator`) passes messages between
agent, user and a fresh official environment exactly as `tau2 run` does: the
fixed greeting, tool calls executed by `Environment.get_response`, the 200-hop
and 10-error limits, stop tokens only from the user. The agent is tau2's
`LLMAgent` (its system prompt is the official instruction + the domain policy,
its tools the environment's own schemas, tool_choice auto) and the user is
tau2's `UserSimulator` (the official guidelines + the task's scenario, roles
flipped). The only thing we replace is the transport: where they would call
litellm, they call a `Backend` (any spec, best-of-N and routers included).

A best-of-N agent samples its candidates and the selected one alone reaches
the orchestrator; no discarded candidate's tool call ever runs on the scored
environment.

The orchestrator is synchronous, so a simulation runs in a worker thread; its
model calls are sent to the event loop that owns the backends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentforge.harnesses.taubench.package import load_tau2, new_environment
from agentforge.runtime.backends.base import Backend, BackendError, TransientBackendError
from agentforge.runtime.messages import Completion, FunctionCall, Message, Sampling, ToolCall, ToolSpec

EMPTY_REPLY_RETRIES = 3  # tau2's generate() asks again this often when a reply has neither text nor calls
POLL_S = 0.5  # how often a waiting simulation thread checks whether it was abandoned


class ModelFailed(RuntimeError):
    """A model could not produce a valid message; the simulation ends as tau2's agent_error/user_error."""

    def __init__(self, side: str, message: str):
        super().__init__(f"{side} model: {message}")
        self.side = side  # "agent" | "user"


class Abandoned(RuntimeError):
    """The runner gave up on this simulation (timeout or cancellation); its thread stops at the next call."""


@dataclass
class Transcript:
    """The agent's completions in a simulation, for the report and the selectors."""

    completions: list[Completion] = field(default_factory=list)

    def signals(self) -> tuple[list[float], list[float]]:
        """(token_logprobs, token_confidences) over every token the agent generated."""
        from agentforge.runtime.token_signals import candidate_signals

        return candidate_signals(self.completions)

    @property
    def completion_tokens(self) -> int:
        return sum(c.usage.completion_tokens for c in self.completions)


class ModelCaller:
    """Calls one backend from the simulation's thread on the loop that owns it."""

    def __init__(self, side: str, backend: Backend, sampling: Sampling, loop: asyncio.AbstractEventLoop,
                 abandoned: threading.Event, transcript: Transcript | None = None):
        self.side, self.backend, self.sampling, self.loop = side, backend, sampling, loop
        self.abandoned, self.transcript = abandoned, transcript

    def __call__(self, messages: Sequence[Any], tools: Sequence[Any] | None, seed: int | None) -> Completion:
        if self.abandoned.is_set():
            raise Abandoned("the simulation was abandoned")
        ours = [to_message(m) for m in messages]
        specs = [ToolSpec.model_validate(t.openai_schema) for t in tools] if tools else None
        sampling = self.sampling.merged(seed=seed, tool_choice="auto" if specs else None)
        future = asyncio.run_coroutine_threadsafe(self.backend.complete(ours, specs, 1, sampling), self.loop)
        try:
            completion = self._wait(future)[0]
        except TransientBackendError:
            raise  # the runner retries the whole simulation (same seed)
        except BackendError as exc:
            raise ModelFailed(self.side, str(exc)) from exc
        if self.transcript is not None:
            self.transcript.completions.append(completion)
        return completion


    def _wait(self, future: concurrent.futures.Future) -> list[Completion]:
        # Poll, so that a simulation the runner gave up on (its timeout) stops waiting and cancels the call.
        while True:
            try:
                return future.result(timeout=POLL_S)
            except concurrent.futures.TimeoutError:
                if self.abandoned.is_set():
                    future.cancel()
                    raise Abandoned("the simulation was abandoned") from None


def to_message(message: Any) -> Message:
    """A tau2 message as ours (tool calls keep their ids; arguments become JSON text)."""
    role = message.role
    if role == "tool":
        return Message(role="tool", content=message.content or "", tool_call_id=message.id)
    calls = None
    if getattr(message, "tool_calls", None):
        calls = [ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=json.dumps(c.arguments)))
                 for c in message.tool_calls]
    return Message(role=role, content=message.content, tool_calls=calls)


def reply_parts(completion: Completion) -> tuple[str | None, list[tuple[str, str, dict]]]:
    """(text, [(call id, name, arguments)]) as an OpenAI-compatible server would return them.

    A call whose arguments are not a JSON object is not a call: like a server
    whose tool parser fails, the raw text (markup included) is the reply."""
    calls = []
    for call in completion.tool_calls:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            return (completion.text or None), []
        calls.append((call.id, call.function.name, arguments))
    text = completion.content
    if not calls and not (text or "").strip():
        text = completion.text  # e.g. only malformed tool-call markup: the model's words reach the user
    return (text if (text or "").strip() else None), calls


def _ask(call: ModelCaller, messages, tools, seed):
    """The reply's (text, calls), asking again (as tau2 does) while it is empty."""
    for _ in range(EMPTY_REPLY_RETRIES + 1):
        text, calls = reply_parts(call(messages, tools, seed))
        if text is not None or calls:
            return text, calls
    raise ModelFailed(call.side, f"an empty reply {EMPTY_REPLY_RETRIES + 1} times")


def _agent_class():
    load_tau2()
    from tau2.agent.llm_agent import LLMAgent
    from tau2.data_model.message import AssistantMessage, MultiToolMessage
    from tau2.data_model.message import ToolCall as Tau2Call

    class BackendAgent(LLMAgent):
        """tau2's LLMAgent (prompt, tools, state, never stops the episode) whose LLM is a Backend."""

        def __init__(self, tools, domain_policy, call: ModelCaller, llm: str):
            super().__init__(tools=tools, domain_policy=domain_policy, llm=llm, llm_args={})
            self._call = call

        def generate_next_message(self, message, state):
            if isinstance(message, MultiToolMessage):
                state.messages.extend(message.tool_messages)
            else:
                state.messages.append(message)
            text, calls = _ask(self._call, state.system_messages + state.messages, self.tools,
                               self.llm_args.get("seed"))
            reply = AssistantMessage(role="assistant", content=text,
                                     tool_calls=[Tau2Call(id=i, name=n, arguments=a) for i, n, a in calls] or None)
            state.messages.append(reply)
            return reply, state

    return BackendAgent


def _user_class():
    load_tau2()
    from tau2.data_model.message import MultiToolMessage, UserMessage
    from tau2.data_model.message import ToolCall as Tau2Call
    from tau2.user.user_simulator import UserSimulator

    class BackendUser(UserSimulator):
        """tau2's UserSimulator (guidelines + scenario, flipped roles, stop tokens) whose LLM is a Backend."""

        def __init__(self, tools, instructions, call: ModelCaller, llm: str):
            super().__init__(tools=tools, instructions=instructions, llm=llm, llm_args={})
            self._call = call

        def _generate_next_message(self, message, state):
            if isinstance(message, MultiToolMessage):
                state.messages.extend(message.tool_messages)
            else:
                state.messages.append(message)
            text, calls = _ask(self._call, state.system_messages + state.flip_roles(), self.tools,
                               self.llm_args.get("seed"))
            reply = UserMessage(role="user", content=text, tool_calls=[
                Tau2Call(id=i, name=n, arguments=a, requestor="user") for i, n, a in calls] or None)
            state.messages.append(reply)
            return reply, state

    return BackendUser


@dataclass
class Simulation:
    """One trial's settings."""

    domain: str
    task: Any  # tau2 Task
    trial: int
    seed: int
    max_steps: int
    max_errors: int
    agent_llm: str  # the names recorded in the simulation (the specs)
    user_llm: str


@dataclass
class Outcome:
    run: Any  # tau2 SimulationRun, unscored
    error: str | None = None  # why a model failed for good (the run then ended as agent_error / user_error)
    db_hash: str | None = None  # the agent-side DB at the end: the outcome that a vote compares


def run_simulation(sim: Simulation, agent: ModelCaller, user: ModelCaller) -> Outcome:
    """Run one simulation to its end (in the calling thread).

    A model that fails for good ends it as tau2 does with --skip-failed-samples
    (agent_error / user_error, scored 0), keeping the messages so far."""
    load_tau2()
    from tau2.data_model.simulation import SimulationRun, TerminationReason
    from tau2.orchestrator.orchestrator import Orchestrator
    from tau2.utils.utils import get_now

    environment = new_environment(sim.domain)
    try:
        user_tools = environment.get_user_tools()
    except Exception:  # noqa: BLE001 - tau2 run's own test: a domain without user tools raises
        user_tools = None
    agent_model = _agent_class()(environment.get_tools(), environment.get_policy(), agent, sim.agent_llm)
    user_model = _user_class()(user_tools, str(sim.task.user_scenario), user, sim.user_llm)
    orchestrator = Orchestrator(domain=sim.domain, agent=agent_model, user=user_model, environment=environment,
                                task=sim.task, max_steps=sim.max_steps, max_errors=sim.max_errors, seed=sim.seed)
    try:
        run = orchestrator.run()
    except ModelFailed as exc:
        reason = TerminationReason.USER_ERROR if exc.side == "user" else TerminationReason.AGENT_ERROR
        now = get_now()
        run = SimulationRun(id=f"{sim.task.id}_{sim.trial}_failed", task_id=sim.task.id, start_time=now,
                            end_time=now, duration=0.0, termination_reason=reason,
                            messages=orchestrator.get_trajectory(), seed=sim.seed)
        run.trial = sim.trial
        return Outcome(run, error=str(exc), db_hash=environment.get_db_hash())
    run.trial = sim.trial
    return Outcome(run, db_hash=environment.get_db_hash())
