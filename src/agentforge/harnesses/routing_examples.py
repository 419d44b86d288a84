"""Routing examples from harness results: per task, the request and how each specialist did.

The harnesses' side of `agent route learn/eval`: it reads run directories;
the example itself (agentforge.routing.examples) is routing's.

Input: one harness run directory per specialist, all over the same tasks (a
run directory holds config.json, journal.jsonl with one scored line per
candidate, and trajectories/). A task's outcome for a specialist is its pass
rate over the samples recorded (a sample whose model call failed counts as a
fail, as in the harness's own report).

The request (messages + tools), from which features are computed, is what
the router would have seen in front of the specialist:
- BFCL runs: rebuilt from the BFCL data with the run's own settings (the same
  function the harness sends them with); the first request of a multi-turn entry;
- any other harness: the trajectory of sample 0 — the messages before the first
  assistant message, and the tools from `metadata["tools"]` when recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from agentforge.harnesses.journal import Journal
from agentforge.runtime.messages import Message, ToolSpec
from agentforge.runtime.trajectory import Trajectory
from agentforge.routing.examples import Example, split_of  # noqa: F401  (split_of: used with these)
from agentforge.routing.policy import RoutingError


def pass_rates(run_dir: Path) -> dict[str, tuple[str, float]]:
    """task id -> (category, pass rate) from a run's journal."""
    path = Path(run_dir) / "journal.jsonl"
    if not path.exists():
        raise RoutingError(f"{run_dir}: no journal.jsonl (not a harness run directory?)")
    per_task: dict[str, list] = {}
    for record in Journal(path).load().values():
        per_task.setdefault(record.task_id, []).append(record)
    return {tid: (rs[0].category, sum(bool(r.correct) and r.status == "ok" for r in rs) / len(rs))
            for tid, rs in per_task.items()}


def _config(run_dir: Path) -> dict:
    from agentforge.harnesses.rundir import RunDirError, read_config

    if not (Path(run_dir) / "config.json").exists():
        return {}
    try:
        return read_config(run_dir)
    except RunDirError as e:  # a corrupt config.json: the message names it and says what to do
        raise RoutingError(str(e)) from None


def bfcl_requests(run_dir: Path) -> dict[str, tuple[list[Message], list[ToolSpec] | None]]:
    from agentforge.harnesses.bfcl.bench import load_config, load_tasks
    from agentforge.harnesses.bfcl.episodes import setup

    config = load_config(run_dir)
    out = {}
    for task in load_tasks(config):
        entry, _ = task.data
        s = setup(entry, task.category, config.mode, entry["question"][0])
        out[task.id] = (s.messages, s.tools)
    return out


def trajectory_request(run_dir: Path, task_id: str) -> tuple[list[Message], list[ToolSpec] | None]:
    from agentforge.harnesses.rundir import safe_name

    path = Path(run_dir) / "trajectories" / safe_name(task_id) / "0.json"
    if not path.exists():
        raise RoutingError(f"{run_dir}: no trajectory for task {task_id!r} ({path}); the request is unknown")
    traj = Trajectory.load(path)
    first = next((i for i, m in enumerate(traj.messages) if m.role == "assistant"), len(traj.messages))
    tools = traj.metadata.get("tools")
    return traj.messages[:first], [ToolSpec.model_validate(t) for t in tools] if tools else None


def load_examples(runs: Mapping[str, str | Path]) -> tuple[list[Example], dict]:
    """Examples over the tasks every run finished, in the first run's task order;
    plus notes (tasks left out because some run lacks them)."""
    if len(runs) < 2:
        raise RoutingError("routing needs at least two specialists' runs (NAME=RUN_DIR each)")
    rates = {name: pass_rates(Path(d)) for name, d in runs.items()}
    first_name, first_dir = next(iter(runs.items()))
    harnesses = {name: _config(Path(d)).get("harness", "bfcl") for name, d in runs.items()}
    if len(set(harnesses.values())) > 1:
        raise RoutingError(f"the runs come from different harnesses: {harnesses}")
    harness = harnesses[first_name]
    if harness == "bfcl":
        modes = {name: _config(Path(d)).get("mode") for name, d in runs.items()}
        if len(set(modes.values())) > 1:
            raise RoutingError(f"the BFCL runs use different modes {modes}: the requests differ, so one router "
                               "cannot stand in front of them; run every specialist in the same mode")
    common = [t for t in rates[first_name] if all(t in r for r in rates.values())]
    if not common:
        raise RoutingError("the runs share no task")
    requests = bfcl_requests(Path(first_dir)) if harness == "bfcl" else None
    examples = []
    for tid in common:
        if requests is None:
            messages, tools = trajectory_request(Path(first_dir), tid)
        elif tid in requests:
            messages, tools = requests[tid]
        else:  # its config.json no longer lists the task (e.g. a later run with a smaller --limit)
            raise RoutingError(f"{first_dir}: task {tid!r} is in the journal but not among the tasks its "
                               "config.json describes; rerun with the settings that produced it")
        examples.append(Example(tid, rates[first_name][tid][0], messages, tools,
                                {name: r[tid][1] for name, r in rates.items()}))
    notes = {"tasks": len(common), "left_out": {n: len(r) - len(common) for n, r in rates.items()
                                                 if len(r) > len(common)}}
    return examples, notes
