"""`agent train synth tools` and `agent train synth check`: typer commands
(thin: they parse, then call build.synthesize_tools / records.validate_record).
They register themselves on the `synth` group."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from agentforge.training.synth.swe.cli import synth_app
from agentforge.training.synth.tools.mix import DEFAULT_MIX, format_mix  # tiny, for the help text


@synth_app.command("tools")
def tools_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL ({messages, tools} records); written "
                                      "atomically. Beside it: NAME.report.json and NAME.contamination.json.")] = Path("runs/tools.jsonl"),
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Records to write (after filtering).")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same file.")] = 0,
    mix: Annotated[Optional[str], typer.Option(help=f"Shape weights (normalized); default {format_mix(DEFAULT_MIX)}; "
                                               "multi_turn too, where the episodes module is present.")] = None,
    teacher: Annotated[Optional[str], typer.Option("--teacher", help="Backend spec of a teacher model that writes "
                                                   "the tools and conversations instead (e.g. embedded).")] = None,
    samples: Annotated[int, typer.Option(min=1, help="Teacher samples per conversation that must agree.")] = 3,
    contamination_check: Annotated[bool, typer.Option(help="Drop records that overlap BFCL v3 (function names, "
                                                      "8-grams of queries) and report it.")] = True,
    token_sample: Annotated[int, typer.Option(min=0, help="Records tokenized with the embedded model's chat "
                                              "template for the token report (0: skip).")] = 200,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Synthesize single-turn tool-use conversations (procedural by default; --teacher for a model)."""
    from rich.console import Console
    from rich.markup import escape

    from agentforge.training.synth.tools.build import ToolsOptions, report_path, synthesize_tools
    from agentforge.training.synth.tools.generate import NotAvailable
    from agentforge.training.synth.tools.mix import parse_mix

    err = Console(stderr=True)
    try:
        weights = parse_mix(mix)
    except ValueError as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    options = ToolsOptions(n=n, out=out, seed=seed, mix=weights, contamination=contamination_check, teacher=teacher,
                           samples=samples, progress=progress, token_sample=token_sample)
    try:
        report = asyncio.run(synthesize_tools(options))
    except NotAvailable as e:
        err.print(f"[red]error:[/] not available: {escape(str(e))}")
        raise typer.Exit(2) from None
    except (RuntimeError, OSError) as e:
        err.print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(1) from None
    s = report["summary"]
    err.print(f"{s['records']} records -> {escape(str(out))} · mix {format_mix(weights) if not teacher else 'teacher'}")
    err.print("shapes: " + ", ".join(f"{k} {v}" for k, v in s["shapes"].items()))
    err.print(f"families {s['families']} · function names {s['function_names']} · ~{s['tokens_estimate']:,} tokens")
    tok = report.get("tokens_sample")
    if isinstance(tok, dict) and tok.get("records"):
        err.print(f"tokens (chat template, {tok['records']} sampled): mean {tok['mean']}, max {tok['max']}, "
                  f"over 400: {tok['share_over_400']:.0%} · " + ", ".join(f"{k} {v['mean']}" for k, v in tok["by_shape"].items()))
    c = report["contamination"]
    if isinstance(c, dict):
        err.print(f"BFCL v3 contamination: checked {c['checked']}, dropped {c['dropped']} (function name "
                  f"{c['dropped_function_name']}, query {c['bfcl']['ngram']}-gram {c['dropped_query_ngram']}); "
                  f"max query n-gram overlap before the filter {c['max_query_ngram_overlap']:.1%}; kept records overlap: 0")
    else:
        err.print(f"[yellow]BFCL contamination check {c}[/]")
    err.print(f"report: {escape(str(report_path(out)))}" + (f", {escape(str(report_path(out, 'contamination')))}"
                                                          if isinstance(c, dict) else ""))


@synth_app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="JSONL files of {messages, tools} records, from any source.")],
    contamination_check: Annotated[bool, typer.Option(help="Also report overlap with BFCL v3.")] = True,
    show: Annotated[int, typer.Option(min=0, help="Problems to print per file.")] = 10,
    clean: Annotated[Optional[Path], typer.Option("--clean", help="Also write the records without problems "
                                                  "(valid, no BFCL overlap) to this JSONL file.")] = None,
) -> None:
    """Validate training records (roles, call ids, arguments against the tool schemas) and report BFCL overlap."""
    from rich.console import Console
    from rich.markup import escape

    from agentforge.training.synth.tools.contamination import ContaminationFilter, bfcl_index
    from agentforge.training.synth.tools.records import read_records, validate_record

    from agentforge.training.synth.tools.build import write_jsonl_atomic

    err = Console(stderr=True)
    flt = ContaminationFilter(bfcl_index()) if contamination_check else None
    bad_total, kept = 0, []
    for path in files:
        if not path.is_file():
            err.print(f"[red]error:[/] {escape(str(path))} is not a file")
            raise typer.Exit(2)
        total = bad = 0
        for line, rec, error in read_records(path):
            total += 1
            problems = [error] if error else validate_record(rec)
            if rec is not None and flt is not None and not problems and not flt.keep(rec):
                problems = [f"overlaps BFCL: {flt.report.examples[-1]}"]
            if problems:
                bad += 1
                if bad <= show:
                    err.print(f"{escape(str(path))}:{line}: " + escape("; ".join(problems[:3])))
            else:
                kept.append(rec)
        bad_total += bad
        err.print(f"{escape(str(path))}: {total} records, {bad} with problems")
    if flt is not None:
        typer.echo(json.dumps(flt.report.as_dict(flt.index)))
    if clean is not None:
        write_jsonl_atomic(clean, kept)
        err.print(f"{len(kept)} clean records -> {escape(str(clean))}")
    if bad_total:
        raise typer.Exit(1)
