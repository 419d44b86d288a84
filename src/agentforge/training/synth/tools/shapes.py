"""The single-turn shapes: one function, choose among several, parallel calls,
parallel + multiple, no fitting function, and a missing required value.

Each builder returns one record (or None when the draw does not fit the shape;
the caller draws again). Gold calls use only values stated in the query;
optional parameters appear in a call exactly when the query states them.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

from agentforge.training.synth.tools import phrasing
from agentforge.training.synth.tools.catalog import Family, Param
from agentforge.training.synth.tools.schema import RenderedTool, render

SINGLE_TURN_SHAPES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevant", "missing")

_SYSTEMS = [
    "You are a helpful assistant with access to tools. Call a tool only when it fits the request.",
    "You are a concise assistant. Use the provided functions when they help.",
    "You are an assistant that can call functions. If no function fits, reply in plain text.",
    "You help users by calling the right function with the right arguments.",
    "You are a support agent for an online service. Use tools when needed.",
    "Answer briefly. You may call functions.",
]

Drawn = list[tuple[Param, Any, str]]  # (param, value, its text in the query)


class ShapeBuilder:
    def __init__(self, families: tuple[Family, ...], rng: random.Random, banned_names: frozenset[str] = frozenset()):
        self.families = families
        self.rng = rng
        self.banned = banned_names
        self.by_domain: dict[str, list[Family]] = {}
        for f in families:
            self.by_domain.setdefault(f.domain, []).append(f)

    # ------------------------------------------------------------------ helpers
    def tool(self, family: Family) -> RenderedTool:
        from agentforge.training.synth.tools.contamination import normalize_name

        for _ in range(8):
            rt = render(family, self.rng)
            if normalize_name(rt.name) not in self.banned:
                return rt
        return render(family, self.rng, name=f"{family.module}_{'_'.join(family.words)}_v2")

    def draw(self, family: Family, *, optional_p: float = 0.3, omit: tuple[str, ...] = ()) -> Drawn:
        out = []
        for p in family.params:
            if p.name in omit or (p.optional and self.rng.random() >= optional_p):
                continue
            value, text = p.kind.draw(self.rng)
            out.append((p, value, text))
        return out

    def others(self, exclude: set[str], k: int, near: Family | None = None) -> list[Family]:
        """k families not in `exclude`, about half from `near`'s domain when given (near misses)."""
        picked: list[Family] = []
        pool_near = [f for f in self.by_domain.get(near.domain, []) if f.id not in exclude] if near else []
        while len(picked) < k:
            source = pool_near if pool_near and self.rng.random() < 0.5 else self.families
            f = self.rng.choice(source)
            if f.id not in exclude and f not in picked:
                picked.append(f)
        return picked

    def record(self, shape: str, user: str, assistant: dict, tools: list[RenderedTool], families: list[Family]) -> dict:
        self.rng.shuffle(tools)
        messages: list[dict] = []
        if self.rng.random() < 0.12:
            messages.append({"role": "system", "content": self.rng.choice(_SYSTEMS)})
        messages += [{"role": "user", "content": user}, assistant]
        return {"messages": messages, "tools": [t.tool for t in tools],
                "meta": {"source": "procedural", "shape": shape, "family": [f.id for f in families]}}

    @staticmethod
    def calls(calls: list[tuple[RenderedTool, Drawn]]) -> dict:
        tool_calls = [{"id": f"call_{i}", "type": "function",
                       "function": {"name": rt.name,
                                    "arguments": json.dumps(rt.arguments({p.name: v for p, v, _ in drawn}), ensure_ascii=False)}}
                      for i, (rt, drawn) in enumerate(calls)]
        return {"role": "assistant", "content": "", "tool_calls": tool_calls}

    def said(self, drawn: Drawn) -> list[tuple[Param, str]]:
        return [(p, phrasing.phrase(p, v, t, self.rng)) for p, v, t in drawn]

    # ------------------------------------------------------------------ shapes
    def ask_once(self, f: Family, drawn: Drawn, task: str | None = None) -> str:
        """A user message asking for one call: mostly prose, sometimes labelled values."""
        task = task or self.rng.choice(f.tasks)
        if drawn and self.rng.random() < 0.08:
            return phrasing.structured(self.rng, task, [(p, phrasing.raw_text(p, v, t, self.rng)) for p, v, t in drawn])
        return phrasing.request(self.rng, phrasing.clause(self.rng, f, self.said(drawn), task=task))

    def simple(self) -> dict | None:
        f = self.rng.choice(self.families)
        drawn = self.draw(f)
        return self._single("simple", f, drawn, self.ask_once(f, drawn), extra=0)

    def _single(self, shape: str, f: Family, drawn: Drawn, user: str, extra: int) -> dict:
        rt = self.tool(f)
        distractors = [self.tool(o) for o in self.others({f.id}, extra, near=f)]
        return self.record(shape, user, self.calls([(rt, drawn)]), [rt] + distractors, [f])

    def multiple(self) -> dict | None:
        f = self.rng.choice(self.families)
        drawn = self.draw(f)
        return self._single("multiple", f, drawn, self.ask_once(f, drawn), extra=self.rng.choice([1, 1, 1, 2, 2, 3]))

    def _varying(self, f: Family) -> list[Param]:
        return [p for p in f.params if not p.optional and p.kind.type in ("string", "integer", "number")]

    def _parallel_calls(self, f: Family, count: int) -> tuple[str, list[Drawn]] | None:
        """A clause asking for `count` calls of `f`, and each call's drawn values."""
        rng = self.rng
        varying = self._varying(f)
        form = rng.random()
        if varying and form < 0.45:  # "... for Lisbon, Osaka and Perth" (one value list) or two lists "respectively"
            n_vary = 2 if len(varying) > 1 and rng.random() < 0.25 else 1
            vary = rng.sample(varying, n_vary)
            base = self.draw(f)
            per_call: list[dict[str, tuple[Param, Any, str]]] = [{} for _ in range(count)]
            texts: dict[str, list[str]] = {}
            for p in vary:
                seen, vals = set(), []
                for _ in range(count * 6):
                    v, t = p.kind.draw(rng)
                    if repr(v) not in seen:
                        seen.add(repr(v))
                        vals.append((v, t))
                    if len(vals) == count:
                        break
                if len(vals) < count:
                    return None
                texts[p.name] = [t for _, t in vals]
                for i, (v, t) in enumerate(vals):
                    per_call[i][p.name] = (p, v, t)
            calls = [[over.get(p.name, (p, v, t)) for p, v, t in base] for over in per_call]
            said = [(p, p.phrase.replace("{}", phrasing.join_words(texts[p.name], rng)) if p.name in texts
                     else phrasing.phrase(p, v, t)) for p, v, t in base]
            body = phrasing.clause(rng, f, said, plain=True)
            if n_vary == 2:
                body += rng.choice([" respectively", ", respectively"])
            return body, calls
        if varying and form < 0.7:  # "..., then do the same for 7"
            p = rng.choice(varying)
            first = self.draw(f)
            calls, body = [first], phrasing.clause(rng, f, self.said(first))
            seen = {repr(next(v for q, v, _ in first if q is p))}
            for _ in range(count - 1):
                v, t = p.kind.draw(rng)
                if repr(v) in seen:
                    return None
                seen.add(repr(v))
                calls.append([(q, v, t) if q is p else (q, qv, qt) for q, qv, qt in first])
                again = phrasing.phrase(p, v, t)
                if p.phrase.lstrip("'\"").startswith("{}"):  # a bare value: "..., then do the same for 93"
                    again = f"for {again}"
                body += rng.choice([", then do the same ", ", and again ", ". Repeat that ", ", and also ", "; then "]) + again
            return body, calls
        calls = [self.draw(f) for _ in range(count)]  # independent requests
        if len({repr([(p.name, v) for p, v, _ in d]) for d in calls}) < count:
            return None
        bodies = [phrasing.clause(rng, f, self.said(d)) for d in calls]
        return phrasing.joined(rng, bodies), calls

    def parallel(self) -> dict | None:
        f = self.rng.choice(self.families)
        count = self.rng.choice([2, 2, 2, 3, 3, 4])
        made = self._parallel_calls(f, count)
        if made is None:
            return None
        body, calls = made
        rt = self.tool(f)
        tools = [rt] + [self.tool(o) for o in self.others({f.id}, self.rng.choice([0, 0, 0, 0, 1]), near=f)]
        return self.record("parallel", phrasing.request(self.rng, body), self.calls([(rt, d) for d in calls]), tools, [f])

    def parallel_multiple(self) -> dict | None:
        rng = self.rng
        first = rng.choice(self.families)
        fams = [first] + self.others({first.id}, rng.choice([1, 1, 1, 2, 2]), near=first)
        bodies, all_calls, tools = [], [], []
        for f in fams:
            rt = self.tool(f)
            tools.append(rt)
            if rng.random() < 0.3:
                made = self._parallel_calls(f, 2)
                if made is None:
                    return None
                body, drawn_list = made
            else:
                drawn = self.draw(f)
                body, drawn_list = phrasing.clause(rng, f, self.said(drawn)), [drawn]
            bodies.append(body)
            all_calls += [(rt, d) for d in drawn_list]
        tools += [self.tool(o) for o in self.others({f.id for f in fams}, rng.choice([0, 0, 0, 0, 1]))]
        user = phrasing.request(rng, phrasing.joined(rng, bodies))
        return self.record("parallel_multiple", user, self.calls(all_calls), tools, fams)

    def irrelevant(self) -> dict | None:
        rng = self.rng
        k = rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4, 5])
        if rng.random() < 0.3:
            user, task, asked = phrasing.general_question(rng), None, None
            offered = self.others(set(), k)
        else:
            asked = rng.choice(self.families)
            task = rng.choice(asked.tasks)
            user = self.ask_once(asked, self.draw(asked), task)
            offered = self.others({asked.id}, k, near=asked)
        reply = {"role": "assistant", "content": phrasing.no_tool_reply(rng, task, offered)}
        return self.record("irrelevant", user, reply, [self.tool(o) for o in offered], [asked] if asked else [])

    def missing(self) -> dict | None:
        rng = self.rng
        f = rng.choice(self.families)
        task = rng.choice(f.tasks)
        first_fixed = task.split()[-1] in phrasing.DANGLING
        candidates = [p for i, p in enumerate(f.params)
                      if not p.optional and p.kind.type != "boolean" and not (first_fixed and i == 0)]
        if not candidates:
            return None
        gone = rng.choice(candidates)
        drawn = self.draw(f, omit=(gone.name,))
        user = phrasing.request(rng, phrasing.clause(rng, f, self.said(drawn), task=task))
        reply = {"role": "assistant", "content": phrasing.ask_reply(rng, task, [gone])}
        tools = [self.tool(f)] + [self.tool(o) for o in self.others({f.id}, rng.choice([0, 0, 1]), near=f)]
        return self.record("missing", user, reply, tools, [f])

    def builder(self, shape: str) -> Callable[[], dict | None]:
        """A single-turn shape's maker (the session shape, built from these, is sessions.session)."""
        if shape not in SINGLE_TURN_SHAPES:
            raise ValueError(f"unknown shape {shape!r}")
        return getattr(self, shape)
