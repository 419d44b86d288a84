"""`agent train synth tools` minus the argument parsing: make the records
(procedural, or a teacher), keep BFCL out, write the JSONL atomically and the
report beside it."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from agentforge.training.synth.tools.generate import GenerationStats, NotAvailable, dedupe_key, generate


@dataclass
class ToolsOptions:
    n: int
    out: Path
    seed: int = 0
    mix: dict[str, float] = field(default_factory=dict)
    contamination: bool = True
    teacher: str | None = None
    samples: int = 3
    progress: bool = True
    token_sample: int = 200


def report_path(out: Path, kind: str = "report") -> Path:
    """NAME.report.json (everything) and NAME.contamination.json (the BFCL overlap alone) beside NAME.jsonl."""
    return out.with_name(out.name.removesuffix(".jsonl") + f".{kind}.json")


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> int:
    """All or nothing: a temp file in the same directory, renamed over `path` at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def summarize(records: list[dict]) -> dict[str, Any]:
    shapes: dict[str, int] = {}
    families, names = set(), set()
    chars = 0
    for rec in records:
        meta = rec.get("meta") or {}
        shapes[meta.get("shape", "?")] = shapes.get(meta.get("shape", "?"), 0) + 1
        families.update(meta.get("family") or [])
        names.update(t["function"]["name"] for t in rec.get("tools") or [])
        chars += len(json.dumps(rec.get("tools") or [])) + sum(len(m.get("content") or "") + len(json.dumps(m.get("tool_calls") or ""))
                                                           for m in rec["messages"])
    return {"records": len(records), "shapes": dict(sorted(shapes.items())), "families": len(families),
            "function_names": len(names), "tokens_estimate": int(chars / 3.3 + 75 * len(records))}


def _bar(progress: bool, total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not progress or total < 2000)  # a fast generator: a bar only for large n


async def _teacher_records(options: ToolsOptions) -> tuple[list[dict], dict]:
    try:
        from agentforge.training.synth.tools.teacher import synthesize_with_teacher
    except ImportError as e:
        raise NotAvailable(f"teacher mode needs agentforge.training.synth.tools.teacher, which this build does not have ({e})") from None
    from agentforge.models import make_model

    backend = await make_model(options.teacher)
    try:
        return await synthesize_with_teacher(backend, options.n, seed=options.seed, samples=options.samples,
                                             progress=options.progress)
    finally:
        await backend.aclose()


async def synthesize_tools(options: ToolsOptions) -> dict[str, Any]:
    """Make, filter and write the records; return the report (also written beside the output)."""
    from agentforge.training.synth.tools.contamination import ContaminationFilter, bfcl_index
    from agentforge.training.synth.tools.records import validate_record

    index = bfcl_index() if options.contamination else None
    flt = ContaminationFilter(index) if index else None
    report: dict[str, Any] = {"out": str(options.out), "seed": options.seed}
    if options.teacher:
        raw, teacher_stats = await _teacher_records(options)
        valid = [r for r in raw if not validate_record(r)]
        unique = list({dedupe_key(r): r for r in valid}.values())
        records = [r for r in unique if flt is None or flt.keep(r)]
        report |= {"source": "teacher", "teacher": options.teacher, "teacher_stats": teacher_stats,
                   "invalid": len(raw) - len(valid), "duplicates_dropped": len(valid) - len(unique)}
    else:
        stats = GenerationStats()
        with _bar(options.progress, options.n, "synth tools") as bar:
            task = bar.add_task("", total=options.n)
            records = list(generate(options.n, seed=options.seed, mix=options.mix, accept=flt.keep if flt else None,
                                    banned_names=index.names if index else frozenset(), stats=stats,
                                    on_record=lambda: bar.advance(task)))
        report |= {"source": "procedural", "mix": options.mix, "duplicates_dropped": stats.duplicates,
                   "invalid_dropped": stats.invalid}
    write_jsonl_atomic(options.out, records)
    report["summary"] = summarize(records)
    report["contamination"] = flt.report.as_dict(index) if flt else "skipped (--no-contamination-check)"
    if options.token_sample and records:
        try:
            from agentforge.training.synth.tools.tokens import load_tokenizer, token_stats

            step = max(1, len(records) // options.token_sample)
            report["tokens_sample"] = tok = token_stats(load_tokenizer(), records[::step][: options.token_sample])
            report["summary"]["tokens_estimate"] = int(tok["mean"] * len(records))  # better than the chars guess
        except Exception as e:  # the counts are a report nicety, not the product
            report["tokens_sample"] = f"unavailable: {type(e).__name__}: {e}"
    report_path(options.out).write_text(json.dumps(report, indent=1) + "\n")
    if flt is not None:
        report_path(options.out, "contamination").write_text(json.dumps(report["contamination"], indent=1) + "\n")
    return report
