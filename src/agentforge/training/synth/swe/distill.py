"""Training records from an `agent bench swebench` run: the resolved, submit-ready trajectories.

    records, stats = distill_run(run_dir, source="swe-distilled")

The filter is the paper's (only submit-ready patches): a candidate is kept
when the harness graded it (no error) and resolved it, the agent ended the
run itself by submitting (not a step, context or time limit), and its patch
changes existing files only (no new file: a scratch script left behind
is not submit-ready).

A trajectory becomes one record in the shared format (see the issue's
RECORDS.md) with the messages exactly as the loop sent them: system, the
instance prompt, then per step the assistant's reply and its observation.
In the text format an observation is a user message (that is what the loop
sends); in the tools format the replies carry `tool_calls` and the results
are `tool` messages. Turns the loop counted as format errors are left out
with their error message (they changed nothing in the workspace, and every
assistant message of a record is trained on), and so is the observation
after the submission, which the model never answers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from agentforge.harnesses.journal import Journal, SampleResult
from agentforge.runtime.messages import Message
from agentforge.runtime.trajectory import Trajectory


@dataclass
class DistillStats:
    candidates: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    format_error_turns: int = 0  # turns left out of kept trajectories

    def summary(self) -> dict[str, Any]:
        return {"candidates": self.candidates, "kept": self.kept, "dropped": dict(sorted(self.dropped.items())),
                "format_error_turns_removed": self.format_error_turns}


def submit_ready(record: SampleResult) -> str | None:
    """Why this candidate is not kept (None: it is resolved and submit-ready)."""
    if record.status != "ok":
        return "not graded"
    if not record.correct:
        return "not resolved"
    if record.detail.get("agent_status") != "submitted":
        return f"not submitted ({record.detail.get('agent_status', 'no agent')})"
    patch = record.output if isinstance(record.output, str) else ""
    if not patch.strip():
        return "empty patch"
    if "\nnew file mode" in patch or patch.startswith("new file mode"):
        return "adds a file"
    if not record.trajectory:
        return "no trajectory"
    return None


def record_from_trajectory(traj: Trajectory, meta: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """(the training record, the number of format-error turns left out)."""
    action_format = traj.metadata.get("action_format", "text")
    messages = [m for m in traj.messages[:2] if m.role in ("system", "user")]
    if len(messages) != 2:
        raise ValueError(f"{traj.task_id}: the trajectory does not start with the system and instance prompts")
    left_out = 0
    for step in traj.steps:
        if step.error == "format error":
            left_out += 1
            continue
        messages.append(step.completion.message())
        messages.extend(step.observations)
    while messages and messages[-1].role != "assistant":
        messages.pop()  # the submission's observation (the model never answers it)
    out: dict[str, Any] = {"messages": [_message(m) for m in messages], "tools": _tools(action_format),
                           "meta": {**meta, "action_format": action_format,
                                    "turns": sum(m.role == "assistant" for m in messages)}}
    return out, left_out


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content or ""}
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function",
                              "function": {"name": c.name, "arguments": c.function.arguments}} for c in m.tool_calls]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
    return out


def _tools(action_format: str) -> list[dict[str, Any]]:
    if action_format != "tools":
        return []  # the text format: the commands are in the replies, there are no tool schemas
    from agentforge.runtime.coding.toolset import coding_toolbox

    return [spec.model_dump() for spec in coding_toolbox(None).specs()]  # type: ignore[arg-type]


def distill_run(run_dir: str | Path, source: str = "swe-distilled",
                instances: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], DistillStats]:
    """The records of every resolved, submit-ready candidate of `run_dir` (sorted by instance, sample).

    `instances` (id -> Instance) adds the package to each record's meta when given.
    """
    run_dir = Path(run_dir)
    journal = run_dir / "journal.jsonl"
    if not journal.exists():
        raise FileNotFoundError(f"{run_dir} is not an `agent bench swebench` run directory (no journal.jsonl); "
                                "give the directory that `agent bench swebench --out` wrote")
    stats = DistillStats()
    records = []
    for result in sorted(Journal(journal).load().values(), key=lambda r: r.key):
        stats.candidates += 1
        why = submit_ready(result)
        path = run_dir / result.trajectory if result.trajectory else None
        if why is None and (path is None or not path.exists()):
            why = "trajectory file missing"
        if why is not None:
            stats.dropped[why] += 1
            continue
        traj = Trajectory.load(path)
        meta = {"source": source, "instance_id": result.task_id, "sample": result.sample,
                "package": _package(result.category), "steps": result.detail.get("agent_steps"),
                "run": str(run_dir)}
        instance = (instances or {}).get(result.task_id)
        if instance is not None and getattr(instance, "mutation", None):
            meta["mutation"] = instance.mutation.get("kind")
        record, left_out = record_from_trajectory(traj, meta)
        stats.format_error_turns += left_out
        stats.kept += 1
        records.append(record)
    return records, stats


def _package(repo: str) -> str:
    """`pypi/cachetools` -> `cachetools` (other repos keep their name)."""
    return repo.split("/", 1)[1] if repo.startswith("pypi/") else repo


def write_records(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write JSONL atomically; returns how many records were written."""
    from agentforge.runtime.trajectory import write_atomic

    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    write_atomic(Path(path), "".join(lines))
    return len(lines)


def token_lengths(records: list[dict[str, Any]], tokenizer: Any = None) -> list[int]:
    """Each record's length in tokens as the chat template renders it (default: the embedded model's tokenizer)."""
    if tokenizer is None:
        from transformers import AutoTokenizer

        from agentforge.runtime.backends.checkpoint import default_checkpoint

        tokenizer = AutoTokenizer.from_pretrained(str(default_checkpoint()))
    lengths = []
    for r in records:
        ids = tokenizer.apply_chat_template(r["messages"], tools=r.get("tools") or None, tokenize=True)
        lengths.append(len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids))
    return lengths
