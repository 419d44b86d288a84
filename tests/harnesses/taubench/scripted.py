"""Test doubles for τ-bench's two LLMs: an agent and a user that follow a script.

No real model can be made to replay a task's gold actions, or to behave the
same way on every task, so the harness's offline tests drive the official
orchestrator, environment and evaluator with these. The user opens with a line
naming its task (it finds the task by the scenario in its system prompt, which
the official user simulator builds), which is how the agent knows its script.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from agentforge.runtime.messages import Message, ToolSpec

from tests.fakes.scripted_backend import ScriptedBackend

OPENING = "Hello, I am calling about request {}."
_OPENING_RE = re.compile(r"calling about request (\S+)\.")


def scripted_user(tasks: Sequence, replies: Callable[[str, int], str] | None = None) -> ScriptedBackend:
    """A user that opens with its task's id, then says replies(task_id, turn) (default: ###STOP###)."""
    by_scenario = {str(t.user_scenario).strip(): t.id for t in tasks}
    seen: list[list[Message]] = []  # every conversation the user model was given

    def reply(messages: Sequence[Message], tools, index: int):
        seen.append(list(messages))
        system = messages[0].content or ""
        scenario = system.split("<scenario>", 1)[1].rsplit("</scenario>", 1)[0].strip()
        task_id = by_scenario[scenario]
        turn = sum(m.role == "assistant" for m in messages)  # its own turns so far (roles are flipped)
        if turn == 0:
            return OPENING.format(task_id), []
        return (replies(task_id, turn) if replies else "###STOP###"), []

    backend = ScriptedBackend(reply, name="scripted-user")
    backend.seen = seen
    return backend


def task_of(messages: Sequence[Message]) -> str:
    for m in messages:
        if m.role == "user" and m.content:
            found = _OPENING_RE.search(m.content)
            if found:
                return found.group(1)
    raise AssertionError("the scripted user did not name its task")


def gold_agent(tasks: Sequence, drop_last: bool = False) -> ScriptedBackend:
    """An agent that makes the task's gold calls one message at a time, then says its communicate_info."""
    by_id = {t.id: t for t in tasks}

    def reply(messages: Sequence[Message], tools: Sequence[ToolSpec] | None, index: int):
        task = by_id[task_of(messages)]
        actions = [a for a in task.evaluation_criteria.actions or [] if a.requestor == "assistant"]
        if drop_last:
            actions = actions[:-1]
        made = sum(len(m.tool_calls or []) for m in messages if m.role == "assistant")
        if made < len(actions):
            action = actions[made]
            return "", [(action.name, action.arguments)]
        info = task.evaluation_criteria.communicate_info or []
        return (" ".join(info) if info else "Your request is complete."), []

    return ScriptedBackend(reply, name="gold-agent")


def apologizing_agent() -> ScriptedBackend:
    """The do-nothing agent: it only apologizes."""
    return ScriptedBackend(lambda messages, tools, index: ("I am sorry, I cannot help with that.", []),
                           name="do-nothing")


_DONE_RE = re.compile(r"\[done (\d+)\]")
_TURN_RE = re.compile(r"\[your turn (\d+)\]")


def _last_index(messages: Sequence[Message], role: str, pattern: re.Pattern) -> tuple[int, int] | None:
    """(k, position) of the last message of `role` whose text carries the pattern's index k."""
    for pos in range(len(messages) - 1, -1, -1):
        m = messages[pos]
        if m.role == role and m.content and (found := pattern.search(m.content)):
            return int(found.group(1)), pos
    return None


def gold_pair(tasks: Sequence) -> tuple[ScriptedBackend, ScriptedBackend]:
    """An agent and a user that perform a task's gold actions together, in the gold order (telecom: the user
    acts on its own phone between the agent's calls). They hand over by text: the user says "[done k]" when
    the next gold action (index k) is the agent's, the agent says "[your turn k]" when it is the user's.

    Telecom tasks share scenarios (they differ in the phone's initial state), so the user cannot tell its
    task from its prompt: it takes the tasks in order, one conversation at a time (run with concurrency 1)."""
    queue = list(tasks)
    current: list = []

    def user_reply(messages: Sequence[Message], tools, index: int):
        own = [m for m in messages if m.role == "assistant"]  # its own turns (roles are flipped)
        if not own:
            current[:] = [queue.pop(0)]
        task = current[0]
        scenario = (messages[0].content or "").split("<scenario>", 1)[1].rsplit("</scenario>", 1)[0].strip()
        assert scenario == str(task.user_scenario).strip(), "gold_pair: conversations must come in task order"
        actions = task.evaluation_criteria.actions or []
        handed = _last_index(messages, "user", _TURN_RE)  # the agent's words are "user" turns here
        if handed is None and any(m.content and not m.tool_calls for m in own):
            return "###STOP###", []
        if handed is not None and not _TURN_RE.search(messages[-1].content or "") and messages[-1].role == "user":
            return "###STOP###", []  # the agent's last words hand nothing over: it is done
        start, pos = handed if handed is not None else (0, 0)
        made = sum(len(m.tool_calls or []) for m in messages[pos:] if m.role == "assistant")
        k = start + made
        if k < len(actions) and actions[k].requestor == "user":
            return "", [(actions[k].name, actions[k].arguments)]
        opening = OPENING.format(task.id) + " " if handed is None else ""
        return f"{opening}[done {k}]", []

    by_id = {t.id: t for t in tasks}

    def agent_reply(messages: Sequence[Message], tools, index: int):
        task = by_id[task_of(messages)]
        actions = task.evaluation_criteria.actions or []
        start, pos = _last_index(messages, "user", _DONE_RE)
        k = start + sum(len(m.tool_calls or []) for m in messages[pos:] if m.role == "assistant")
        if k < len(actions) and actions[k].requestor == "assistant":
            return "", [(actions[k].name, actions[k].arguments)]
        if k < len(actions):
            return f"Please do the next step on your phone. [your turn {k}]", []
        info = task.evaluation_criteria.communicate_info or []
        return (" ".join(info) if info else "Your request is complete."), []

    return ScriptedBackend(agent_reply, name="gold-agent"), ScriptedBackend(user_reply, name="gold-user")
