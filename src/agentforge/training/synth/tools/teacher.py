"""Teacher mode of `agent train synth tools`: tool-use conversations written by
a teacher model (any backend) through the paper's multi-turn prompting, kept
only when they pass three filters.

The steps, each its own call to the teacher:
1. tools: for a domain, OpenAI function schemas as JSON; invalid ones are dropped;
2. tasks: user requests those tools can fulfil, and some they cannot;
3. conversation: the teacher, given the tools (Hermes <tool_call> format through
   the backend's tools support) and one request, answers `samples` times
   independently;
4. filters, in the order that spends the fewest teacher calls:
   - format: every call parses, names a generated tool, and its arguments fit
     that tool's schema (types, required, enums, no unknown names); a no-call
     answer must be non-empty text; nothing may be cut off at max_tokens;
   - agreement: a strict majority of the `samples` (format failures count
     against it) makes the same calls, compared as normalized name + arguments
     (teacher_checks.call_signature). A majority that makes no call agrees on
     "no call". The task's own solvable/unsolvable label is one more vote: a
     majority that calls on an unsolvable task (or does not on a solvable one)
     is dropped too;
   - execution: every call of the majority answer is executed against its
     generated tool. Generated tools have no code, so executing a call means
     what a function does on entry (reject arguments that do not fit its
     signature: the schema validation of the format filter) and then producing
     a result: the teacher, acting as the tool in a separate call, writes it,
     and it must be a JSON object or array. A result that is not JSON drops the
     conversation. Results may be realistic errors ({"error": ...}).
   Then the teacher writes the final answer from the results (format-checked:
   plain text, no further call).

The output records are the shared training format (see RECORDS.md):
user -> assistant(tool calls) -> tool results -> assistant(answer), or
user -> assistant(text) for no-call answers; meta.source = "teacher". The
system prompt that instructed the teacher is not kept: records get the chat
template's default, as users' requests do.

A teacher that writes garbage, times out or fails is counted and skipped,
never fatal; calls to it run with bounded concurrency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentforge.runtime.backends.base import Backend
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec
from agentforge.runtime.parsing import parse_hermes
from agentforge.training.synth.tools import teacher_prompts as prompts
from agentforge.training.synth.tools.teacher_checks import (argument_problem, call_signature, extract_json,
                                                            strict_json, tools_from_reply)

log = logging.getLogger(__name__)

FILTERS = frozenset({"format", "agreement", "execution"})
OUTCOMES = ("format", "disagreement", "execution", "teacher_error")  # why a conversation was dropped
MAX_QUERY_CHARS = 1000


@dataclass
class TeacherOptions:
    tools_per_domain: int = 4
    tasks_per_domain: int = 5
    unsolvable_share: float = 0.2  # of each domain's tasks: no tool fits (the model must learn not to call)
    temperature: float = 0.7  # the paper's sampling (BFCL): independent samples must be able to differ
    top_p: float = 0.95
    list_max_tokens: int = 1024  # replies that list tools or tasks
    turn_max_tokens: int = 512  # assistant turns and tool results
    timeout_s: float = 300.0  # one teacher call
    concurrency: int = 4  # teacher calls in flight
    filters: frozenset[str] = FILTERS  # tests switch one off to show it matters


@dataclass
class _Task:
    domain: str
    tools: list[dict]
    query: str
    solvable: bool | None  # None: the teacher did not say

    @property
    def by_name(self) -> dict[str, dict]:
        return {t["function"]["name"]: t for t in self.tools}


@dataclass
class _Stats:
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # finer-grained: what exactly was wrong

    def drop(self, reason: str, detail: str = "") -> None:
        self.reasons[reason] += 1
        log.debug("teacher: %s %s", reason, detail)

    def as_dict(self, n: int, samples: int, teacher: str) -> dict[str, Any]:
        keys = ("domains_tried", "domains_used", "tools_generated", "tools_dropped", "tasks_generated",
                "tasks_dropped", "generated", *(f"dropped_{o}" for o in OUTCOMES), "kept",
                "teacher_calls", "teacher_errors")
        out: dict[str, Any] = {"teacher": teacher, "n": n, "samples": samples}
        out.update({k: self.counts[k] for k in keys})
        out["reasons"] = dict(self.reasons.most_common())
        return out


class _Teacher:
    """The backend behind a semaphore and a timeout. A failed call (timeout,
    backend error, a broken client) is counted and answers None."""

    def __init__(self, backend: Backend, opts: TeacherOptions, stats: _Stats, seed: int):
        self.backend, self.opts, self.stats, self.seed = backend, opts, stats, seed
        self._slots = asyncio.Semaphore(max(1, opts.concurrency))

    def seed_for(self, *key: Any) -> int:
        return random.Random(repr((self.seed, *key))).randrange(2**31)

    async def ask(self, messages: list[Message], *, key: tuple, tools: list[dict] | None = None, n: int = 1,
                  max_tokens: int, tool_choice: str | None = None) -> list[Completion] | None:
        sampling = Sampling(temperature=self.opts.temperature, top_p=self.opts.top_p, max_tokens=max_tokens,
                            seed=self.seed_for(*key), tool_choice=tool_choice)
        specs = [ToolSpec.model_validate(t) for t in tools] if tools else None
        async with self._slots:
            self.stats.counts["teacher_calls"] += 1
            try:
                return list(await asyncio.wait_for(self.backend.complete(messages, specs, n, sampling),
                                                   self.opts.timeout_s))
            except Exception as e:  # noqa: BLE001 - whatever the teacher does, the run goes on
                self.stats.counts["teacher_errors"] += 1
                self.stats.drop(f"teacher error: {type(e).__name__}", str(e)[:200])
                log.warning("teacher call failed (%s: %s); skipped", type(e).__name__, str(e)[:200])
                return None


def _text(c: Completion) -> str:
    return c.text or c.content or ""


# ------------------------------------------------------------------ steps 1-2: tools and tasks


def _parse_tasks(reply: str, stats: _Stats) -> list[tuple[str, bool | None]]:
    try:
        value = extract_json(reply)
    except ValueError:
        stats.drop("tasks: no JSON", reply[:200])
        return []
    if isinstance(value, dict):
        value = [value] if "query" in value else value.get("tasks", value.get("queries"))
    if not isinstance(value, list) or not value:
        stats.drop("tasks: no list of tasks in the reply", reply[:200])
        return []
    out, seen = [], set()
    for item in value:
        query, solvable = (item, None) if isinstance(item, str) else (
            (item.get("query"), item.get("solvable")) if isinstance(item, dict) else (None, None))
        ok = isinstance(query, str) and 0 < len(query.strip()) <= MAX_QUERY_CHARS and query.strip().casefold() not in seen
        if not ok:
            stats.counts["tasks_dropped"] += 1
            stats.drop("tasks: bad or repeated query")
            continue
        seen.add(query.strip().casefold())
        out.append((query.strip(), solvable if isinstance(solvable, bool) else None))
    return out


async def _domain_tasks(teacher: _Teacher, domain: str, attempt: int, count: int) -> list[_Task]:
    """Tools for one domain, then `count` tasks for them ([] when the teacher fails at either)."""
    opts, stats = teacher.opts, teacher.stats
    stats.counts["domains_tried"] += 1
    reply = await teacher.ask(prompts.tools_prompt(domain, opts.tools_per_domain), key=("tools", attempt),
                              max_tokens=opts.list_max_tokens)
    if not reply:
        return []
    try:
        tools, problems = tools_from_reply(extract_json(_text(reply[0])))
    except ValueError:
        stats.drop("tools: no JSON", _text(reply[0])[:200])
        return []
    stats.counts["tools_generated"] += len(tools)
    stats.counts["tools_dropped"] += len(problems)
    for problem in problems:
        stats.drop("tools: invalid schema", problem)
    if not tools:
        return []
    unsolvable = min(count - 1, max(1, round(count * opts.unsolvable_share))) if count > 1 else 0
    reply = await teacher.ask(prompts.tasks_prompt(tools, count - unsolvable, unsolvable), key=("tasks", attempt),
                              max_tokens=opts.list_max_tokens)
    if not reply:
        return []
    tasks = [_Task(domain, tools, q, s) for q, s in _parse_tasks(_text(reply[0]), stats)]
    stats.counts["tasks_generated"] += len(tasks)
    stats.counts["domains_used"] += bool(tasks)
    return tasks


async def _collect_tasks(teacher: _Teacher, n: int, domains: list[str], bar, bar_task) -> list[_Task]:
    """Domains in waves until n tasks; a bounded number of domain attempts, so a
    teacher that never writes usable tools ends the run instead of looping."""
    per = max(1, teacher.opts.tasks_per_domain)
    budget = 2 * math.ceil(n / per) + 2
    tasks: list[_Task] = []
    attempt = 0
    while len(tasks) < n and attempt < budget:
        wave = min(math.ceil((n - len(tasks)) / per), budget - attempt)
        found = await asyncio.gather(*(_domain_tasks(teacher, domains[(attempt + i) % len(domains)], attempt + i, per)
                                       for i in range(wave)))
        attempt += wave
        tasks.extend(t for group in found for t in group)
        bar.update(bar_task, completed=min(len(tasks), n))
    return tasks[:n]


# ------------------------------------------------------------------ steps 3-4: conversation and filters


def _calls(c: Completion) -> list[tuple[str, Any]]:
    out = []
    for call in c.tool_calls:
        try:
            out.append((call.name, call.parsed_arguments()))
        except ValueError:
            out.append((call.name, call.function.arguments))
    return out


def _turn_problem(c: Completion, tools: dict[str, dict]) -> str | None:
    """The format filter on one sampled assistant turn: None when it is well-formed."""
    if c.finish_reason == "length":
        return "cut off at max_tokens"
    if c.parse_errors:
        return "malformed tool call"
    if not c.tool_calls:
        return None if (c.content or "").strip() else "empty answer"
    for name, arguments in _calls(c):
        if name not in tools:
            return "unknown tool"
        if argument_problem(arguments, tools[name]):
            return "arguments do not fit the schema"
    return None


def _final_problem(c: Completion) -> str | None:
    if c.finish_reason == "length":
        return "final answer cut off"
    text = parse_hermes(_text(c))  # under tool_choice "none" backends leave call markup unparsed: look ourselves
    if c.tool_calls or c.parse_errors or text.tool_calls or text.errors:
        return "final answer calls again"
    return None if (c.content or "").strip() else "empty final answer"


def _shape(calls: list[tuple[str, Any]], tools: list[dict]) -> str:
    if not calls:
        return "no_call"
    if len(calls) == 1:
        return "simple" if len(tools) == 1 else "multiple"
    return "parallel" if len({name for name, _ in calls}) == 1 else "parallel_multiple"


async def _execute(teacher: _Teacher, tool: dict | None, name: str, arguments: Any, key: tuple) -> str | None:
    """The simulated result of one call, as JSON text (None: drop the conversation)."""
    tool = tool or {"function": {"name": name}}  # only reachable with the format filter off
    reply = await teacher.ask(prompts.tool_result_prompt(tool, arguments), key=key,
                              max_tokens=teacher.opts.turn_max_tokens)
    if not reply:
        return None
    if "execution" not in teacher.opts.filters:
        return _text(reply[0]).strip()
    try:
        return json.dumps(strict_json(_text(reply[0])), ensure_ascii=False)
    except ValueError as e:
        teacher.stats.drop("execution: result is not JSON", str(e))
        return None


def _vote(replies: list[Completion], task: _Task, samples: int, opts: TeacherOptions,
          stats: _Stats) -> tuple[Completion, int] | str:
    """The format and agreement filters: the majority answer and its votes, or why there is none."""
    votes: list[tuple[tuple[str, ...], Completion]] = []
    for c in replies[:samples]:
        problem = _turn_problem(c, task.by_name) if "format" in opts.filters else None
        if problem:
            stats.drop(f"format: {problem}", _text(c)[:200])
        else:
            votes.append((call_signature(_calls(c), task.by_name), c))
    need = samples // 2 + 1 if "agreement" in opts.filters else 1  # format failures count against the majority
    if len(votes) < need:
        return "format"
    if "agreement" not in opts.filters:
        return votes[0][1], 1
    signature, count = Counter(s for s, _ in votes).most_common(1)[0]
    if count < need:
        stats.drop("disagreement: no majority")
        return "disagreement"
    if task.solvable is not None and bool(signature) != task.solvable:
        stats.drop("disagreement: calls contradict the task's label")
        return "disagreement"
    return next(c for s, c in votes if s == signature), count


def _call_turn(calls: list[tuple[str, Any]]) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [
        {"id": f"call_{i}", "type": "function", "function": {
            "name": name, "arguments": args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)}}
        for i, (name, args) in enumerate(calls)]}


async def _conversation(teacher: _Teacher, task: _Task, index: int, samples: int) -> tuple[dict | None, str]:
    """One task through steps 3-4: (the record, "kept") or (None, why it was dropped)."""
    opts, stats = teacher.opts, teacher.stats
    replies = await teacher.ask(prompts.assistant_prompt(task.query), key=("turn", index), tools=task.tools,
                                n=samples, max_tokens=opts.turn_max_tokens)
    if replies is None:
        return None, "teacher_error"
    vote = _vote(replies, task, samples, opts, stats)
    if isinstance(vote, str):
        return None, vote
    chosen, count = vote
    calls = _calls(chosen)
    user = {"role": "user", "content": task.query}
    meta = {"source": "teacher", "shape": _shape(calls, task.tools), "family": task.domain,
            "teacher": getattr(teacher.backend, "name", "?"), "agreement": f"{count}/{samples}",
            "solvable": task.solvable}
    if not calls:
        answer = {"role": "assistant", "content": (chosen.content or "").strip()}
        return {"messages": [user, answer], "tools": task.tools, "meta": meta}, "kept"
    results = await asyncio.gather(*(_execute(teacher, task.by_name.get(name), name, args, ("result", index, i))
                                     for i, (name, args) in enumerate(calls)))
    if any(r is None for r in results):
        return None, "execution"
    turn = _call_turn(calls)
    outputs = [{"role": "tool", "tool_call_id": c["id"], "content": r} for c, r in zip(turn["tool_calls"], results)]
    history = [*prompts.assistant_prompt(task.query), Message.model_validate(turn),
               *(Message.model_validate(o) for o in outputs)]
    final = await teacher.ask(history, key=("final", index), tools=task.tools, max_tokens=opts.turn_max_tokens,
                              tool_choice="none")
    if not final:
        return None, "teacher_error"
    problem = _final_problem(final[0]) if "format" in opts.filters else None
    if problem:
        stats.drop(f"format: {problem}", _text(final[0])[:200])
        return None, "format"
    answer = {"role": "assistant", "content": (final[0].content or _text(final[0])).strip()}
    return {"messages": [user, turn, *outputs, answer], "tools": task.tools, "meta": meta}, "kept"


# ------------------------------------------------------------------ the entry point


async def synthesize_with_teacher(backend: Backend, n: int, *, seed: int = 0, samples: int = 3,
                                  domains: list[str] | None = None, progress: bool = True,
                                  options: TeacherOptions | None = None) -> tuple[list[dict], dict]:
    """Attempt `n` teacher conversations (tasks); return the records that pass
    the filters and the statistics: generated / dropped_format /
    dropped_disagreement / dropped_execution / dropped_teacher_error / kept,
    plus the tool and task steps' counts and the drop reasons. Fewer than n
    are generated when the teacher fails to write usable tools or tasks."""
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    if samples < 1:
        raise ValueError(f"samples must be 1 or more (3 gives a majority vote), got {samples}")
    if domains is not None and not [d for d in domains if d.strip()]:
        raise ValueError("domains is empty: give at least one domain, or None for the built-in list")
    opts = options or TeacherOptions()
    pool = [d.strip() for d in domains if d.strip()] if domains is not None else list(prompts.DEFAULT_DOMAINS)
    random.Random(seed).shuffle(pool)
    stats = _Stats()
    teacher = _Teacher(backend, opts, stats, seed)
    with _progress_bar(progress) as bar:
        tasks_bar = bar.add_task("teacher: tools and tasks", total=n)
        tasks = await _collect_tasks(teacher, n, pool, bar, tasks_bar)
        talks_bar = bar.add_task("teacher: conversations", total=len(tasks))
        done = 0

        async def run(i: int, task: _Task) -> tuple[dict | None, str]:
            nonlocal done
            out = await _conversation(teacher, task, i, samples)
            done += 1
            stats.counts["kept" if out[1] == "kept" else f"dropped_{out[1]}"] += 1
            bar.update(talks_bar, completed=done)
            return out

        outcomes = await asyncio.gather(*(run(i, t) for i, t in enumerate(tasks)))
    stats.counts["generated"] = len(tasks)
    records = [r for r, _ in outcomes if r is not None]
    return records, stats.as_dict(n, samples, getattr(backend, "name", "?"))


def _progress_bar(enabled: bool):
    from agentforge.harnesses.runner import NoProgress

    if not enabled:
        return NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True))
