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
    by_scenario = {str(t.user_scenario): t.id for t in tasks}
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
