"""How well a model keeps the code agent's format: format-error turns and resolved rate of a SWE-bench run.

    report = coding_format_report(run_dir)   # any `agent bench swebench` run directory (source agent)

A turn is one model call of the loop. A format error is what the loop counts
as one (`step.error == "format error"`: in the text format a reply without
exactly one non-empty ```bash block; in the tools format a reply without a
parsable tool call). Editor calls whose arguments do not parse are not format
errors to the loop (they get an observation with return code 2); they are
counted apart, as `editor_argument_errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentforge.harnesses.journal import Journal
from agentforge.runtime.coding.actions import parse_action
from agentforge.runtime.parsing import split_reasoning
from agentforge.runtime.trajectory import Trajectory


def coding_format_report(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    journal = run_dir / "journal.jsonl"
    if not journal.exists():
        raise FileNotFoundError(f"{run_dir} has no journal.jsonl: give an `agent bench swebench` run directory")
    turns = format_errors = editor_errors = graded = resolved = submitted = candidates = 0
    statuses: dict[str, int] = {}
    per_instance = []
    for result in sorted(Journal(journal).load().values(), key=lambda r: r.key):
        candidates += 1
        status = result.detail.get("agent_status", "error" if result.status == "error" else "?")
        statuses[status] = statuses.get(status, 0) + 1
        submitted += status == "submitted"
        if result.status == "ok":
            graded += 1
            resolved += bool(result.correct)
        t = f = e = 0
        path = run_dir / result.trajectory if result.trajectory else None
        if path is not None and path.exists():
            traj = Trajectory.load(path)
            text_format = traj.metadata.get("action_format", "text") == "text"
            for step in traj.steps:
                t += 1
                if step.error == "format error":
                    f += 1
                elif text_format:
                    content = step.completion.content if step.completion.content is not None else step.completion.text
                    e += parse_action(split_reasoning(content)[1]).error is not None
        turns, format_errors, editor_errors = turns + t, format_errors + f, editor_errors + e
        per_instance.append({"instance_id": result.task_id, "sample": result.sample, "turns": t,
                             "format_errors": f, "status": status, "resolved": bool(result.correct)})
    return {
        "run_dir": str(run_dir), "candidates": candidates, "turns": turns, "format_errors": format_errors,
        "format_error_share": round(format_errors / turns, 4) if turns else None,
        "editor_argument_errors": editor_errors, "submitted": submitted, "agent_status": statuses,
        "graded": graded, "resolved": resolved, "resolved_rate": round(resolved / graded, 4) if graded else None,
        "per_instance": per_instance,
    }
