"""Checking an episode record: its shape, its calls against the offered schemas,
and its tool results against a fresh run of the same calls."""

from __future__ import annotations

import json

from agentforge.training.synth.tools.episodes.base import argument_errors


def shape_problems(record: dict) -> list[str]:
    """Roles in order, every call offered and well-typed, every call id answered once."""
    problems: list[str] = []
    messages, tools = record.get("messages") or [], record.get("tools") or []
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    body = messages[1:] if messages and messages[0]["role"] == "system" else messages
    if not body or body[0]["role"] != "user":
        problems.append("the conversation must start with a user turn (after an optional system turn)")
    if not body or body[-1]["role"] != "assistant" or body[-1].get("tool_calls") or not body[-1].get("content"):
        problems.append("the conversation must end with an assistant answer in text")
    pending: list[str] = []
    seen: set[str] = set()
    for i, m in enumerate(body):
        role = m["role"]
        if role == "tool":
            if not pending or m.get("tool_call_id") != pending[0]:
                problems.append(f"message {i}: tool result for {m.get('tool_call_id')!r}, expected {pending[:1]}")
            else:
                pending.pop(0)
            continue
        if pending:
            problems.append(f"message {i}: calls {pending} were never answered")
            pending = []
        if role == "system":
            problems.append(f"message {i}: a system turn inside the conversation")
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                f, cid = call["function"], call["id"]
                if cid in seen:
                    problems.append(f"message {i}: call id {cid} used twice")
                seen.add(cid)
                pending.append(cid)
                if f["name"] not in schemas:
                    problems.append(f"message {i}: {f['name']} is not among the offered tools")
                    continue
                try:
                    args = json.loads(f["arguments"])
                except (TypeError, ValueError):
                    problems.append(f"message {i}: {f['name']} arguments are not a JSON string")
                    continue
                problems += [f"message {i}: {f['name']}: {p}" for p in argument_errors(args, schemas[f["name"]])]
    if pending:
        problems.append(f"calls {pending} were never answered")
    return problems


def replay_problems(record: dict) -> list[str]:
    """Re-execute every call on a fresh environment; each result must equal the recorded one."""
    from agentforge.training.synth.tools.episodes import ENVS

    meta = record["meta"]
    env = ENVS[meta["env"]](meta["initial_state"])
    results = {m["tool_call_id"]: m["content"] for m in record["messages"] if m["role"] == "tool"}
    problems = []
    for m in record["messages"]:
        for call in m.get("tool_calls") or []:
            got = env.execute(call["function"]["name"], call["function"]["arguments"])
            if got != results.get(call["id"]):
                problems.append(f"{call['id']} {call['function']['name']}: recorded {results.get(call['id'])!r}, replay gives {got!r}")
    return problems
