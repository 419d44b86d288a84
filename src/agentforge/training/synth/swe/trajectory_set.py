"""`agent train synth swe-traj`: scripted and distilled coding trajectories into one JSONL of records.

    <out>/run/                the scripted run (an `agent bench swebench` run directory; resumes)
    <out>/trajectories.jsonl  the records, scripted first, then each --from-run in order
    <out>/stats.json          what was kept and dropped, and why; token lengths

The records file is rebuilt from the run directories on every call, so a
killed call loses nothing: the journal of the scripted run keeps each
finished instance, and running the command again only plays the rest.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from agentforge.training.synth.swe.distill import distill_run, token_lengths, write_records


async def build_trajectory_set(out: Path, *, instances: Path | None = None, repos: Path | None = None,
                               runs: list[Path] | None = None, sandbox: str = "auto", concurrency: int = 1,
                               limit: int | None = None, max_tokens: int = 0, console=None,
                               progress: bool = True, tokenizer: Any = None) -> dict[str, Any]:
    """Build <out>/trajectories.jsonl; returns the summary also written to <out>/stats.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"path": str(out / "trajectories.jsonl"), "sources": {}}
    if instances is not None:
        from agentforge.harnesses.swebench.instances import load_instances
        from agentforge.training.synth.swe.trajectories import scripted_run

        instances = Path(instances)
        repos = Path(repos) if repos else instances.parent / "repos"
        if not repos.is_dir():
            raise FileNotFoundError(f"no git mirrors at {repos}; give --repos (the repos/ directory that "
                                    "`agent train synth swe` wrote next to instances.jsonl)")
        scripts, run_summary = await scripted_run(instances, repos, out / "run", sandbox=sandbox,
                                                  concurrency=concurrency, limit=limit, console=console,
                                                  progress=progress)
        by_id = {i.instance_id: i for i in load_instances(instances)}
        kept, stats = distill_run(out / "run", source="swe-scripted", instances=by_id)
        records += kept
        summary["sources"]["swe-scripted"] = stats.summary() | {
            "instances": len(scripts.instances) + len(scripts.skipped), "not_scriptable": scripts.skipped}
    for run in runs or []:
        kept, stats = distill_run(run)
        records += kept
        summary["sources"][f"swe-distilled:{run}"] = stats.summary()
    lengths = token_lengths(records, tokenizer) if records else []
    for record, n in zip(records, lengths):
        record["meta"]["tokens"] = n
    if max_tokens:
        too_long = sum(n > max_tokens for n in lengths)
        records = [r for r, n in zip(records, lengths) if n <= max_tokens]
        lengths = [n for n in lengths if n <= max_tokens]
        summary["too_long"] = too_long
    summary["records"] = write_records(out / "trajectories.jsonl", records)
    summary["packages"] = sorted({r["meta"].get("package", "") for r in records})
    summary["tokens"] = _describe(lengths)
    (out / "stats.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _describe(lengths: list[int]) -> dict[str, Any]:
    if not lengths:
        return {}
    ordered = sorted(lengths)
    return {"min": ordered[0], "median": int(statistics.median(ordered)), "max": ordered[-1],
            "p90": ordered[int(0.9 * (len(ordered) - 1))], "over_2048": sum(n > 2048 for n in ordered),
            "total": sum(ordered)}
