"""The `session` shape: a few independent requests in one conversation over one
tool set. Each turn is what its single-turn shape would be: a call (or parallel
calls) followed by the tool's result and a one-line wrap-up, or a short text
reply when no tool fits or a value is missing.

Why: the system turn and the tool schemas are most of a record's tokens; here
they serve several supervised decisions instead of one (about twice the
decisions per token). BFCL scores a first turn without history, so this shape
is not in the default mix; it is a lever for a tight CPU budget. The results are
invented, not executed (stateful, executed tools are the episodes' job), so the
wrap-ups only restate them.
"""

from __future__ import annotations

import json

from agentforge.training.synth.tools import phrasing
from agentforge.training.synth.tools.shapes import Drawn, ShapeBuilder
from agentforge.training.synth.tools.schema import RenderedTool

_ACTIONS = {"book", "send", "create", "add", "set", "transfer", "schedule", "restart", "deploy", "scale", "post",
            "open", "apply", "reserve", "buy", "order", "lock", "log", "submit", "freeze", "start", "issue", "report",
            "play", "build", "resize", "compress", "backup", "generate", "train", "return", "schedule", "lights"}
_DONE = ["Done, reference {r}.", "All set (reference {r}).", "That's done; the reference is {r}.", "Done: {r}."]
_VALUE = ["The result is {v}.", "It comes out to {v}.", "Here it is: {v}.", "Result: {v}."]


def _result(rt: RenderedTool, rng) -> tuple[str, str]:
    """An invented tool result and the wrap-up phrase that restates it."""
    if rt.family.words[0] in _ACTIONS:
        ref = f"{rt.family.module[:3].upper()}-{rng.randint(1000, 9999)}"
        return json.dumps({"status": "ok", "reference": ref}), ref
    value = round(rng.uniform(0.5, 900), rng.choice([0, 1, 2]))
    return json.dumps({"result": value}), f"{value:g}"


def session(b: ShapeBuilder) -> dict | None:
    rng = b.rng
    core = rng.choice(b.families)
    fams = [core] + b.others({core.id}, rng.choice([1, 2, 2, 3]), near=core)
    tools = {f.id: b.tool(f) for f in fams}
    messages: list[dict] = []
    n_calls = 0
    for _ in range(rng.choice([2, 3, 3, 4])):
        kind = rng.choices(["call", "parallel", "none", "missing"], weights=[0.5, 0.2, 0.25, 0.05])[0]
        if kind == "none":
            outside = [f for f in b.families if f.id not in tools]
            asked = rng.choice(outside) if rng.random() < 0.7 else None
            task = rng.choice(asked.tasks) if asked else None
            user = b.ask_once(asked, b.draw(asked), task) if asked else phrasing.general_question(rng)
            messages += [{"role": "user", "content": user},
                         {"role": "assistant", "content": phrasing.no_tool_reply(rng, task, [])}]
            continue
        f = rng.choice(fams)
        if kind == "missing":
            gone = [p for p in f.required[1:] if p.kind.type != "boolean"]  # not the first: it may follow the task
            if gone:
                p = rng.choice(gone)
                task = rng.choice(f.tasks)
                user = phrasing.request(rng, phrasing.clause(rng, f, b.said(b.draw(f, omit=(p.name,))), task=task))
                messages += [{"role": "user", "content": user},
                             {"role": "assistant", "content": phrasing.ask_reply(rng, task, [p])}]
                continue
            kind = "call"
        drawn_list: list[Drawn]
        made = b._parallel_calls(f, rng.choice([2, 2, 3])) if kind == "parallel" else None
        if made is not None:
            body, drawn_list = made
            user = phrasing.request(rng, body)
        else:
            drawn = b.draw(f)
            user, drawn_list = b.ask_once(f, drawn), [drawn]
        call = b.calls([(tools[f.id], d) for d in drawn_list])
        for c in call["tool_calls"]:
            c["id"] = f"call_{n_calls}"
            n_calls += 1
        results = [_result(tools[f.id], rng) for _ in drawn_list]
        said = [r for _, r in results]
        wrap = rng.choice(_DONE).replace("{r}", phrasing.join_words(said, rng)) if tools[f.id].family.words[0] in _ACTIONS \
            else rng.choice(_VALUE).replace("{v}", phrasing.join_words(said, rng))
        messages += [{"role": "user", "content": user}, call]
        messages += [{"role": "tool", "tool_call_id": c["id"], "content": content}
                     for c, (content, _) in zip(call["tool_calls"], results)]
        messages.append({"role": "assistant", "content": wrap})
    if not any(m.get("tool_calls") for m in messages):
        return None
    record = b.record("session", messages[0]["content"], messages[1], list(tools.values()), fams)
    record["messages"] = record["messages"][:-2] + messages  # keep the (optional) system turn record() drew
    return record
