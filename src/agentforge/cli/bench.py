"""`agent bench ...`: benchmark runs with resume and reports (thin: parses, then
calls the harness packages)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.text import Text

from agentforge.cli.common import CliError, consoles, fail, load_backend

bench_app = typer.Typer(help="Benchmark harnesses: resumable runs, pass@k / selected@N reports.",
                        no_args_is_help=True)

DEFAULT_BFCL_DIR = "runs/bfcl"


def _run_and_report(go, out, err, where: str, expected: tuple[type[BaseException], ...]):
    """Run a harness coroutine (`go()` -> (stats, summary)), print its report and a closing line; return both.

    `expected` failures end in a red message; Ctrl-C says how to resume.
    """
    from agentforge.harnesses.report import print_report

    try:
        stats, summary = asyncio.run(go())
    except expected as e:
        fail(err, str(e).strip("'\""))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted; finished candidates are saved: run the same command to resume[/]")
        raise typer.Exit(130) from None
    print_report(summary, out)
    _print_run_end(err, stats, where)
    return stats, summary


def _print_run_end(err, stats, where: str) -> None:
    err.print(Text.assemble(
        f"{stats.done} candidates run, {stats.skipped} resumed from the journal",
        (f", {stats.errors} errors" if stats.errors else "", "red"),
        f" · {stats.seconds:.0f} s · {where}"), soft_wrap=True)
    for message in stats.error_messages[:5]:
        err.print(Text(f"  error: {message}", style="red"), soft_wrap=True)


@bench_app.command()
def bfcl(
    model: Annotated[str, typer.Option("--model", "-m", help="Backend spec (see `agent models`).")] = "embedded",
    mode: Annotated[str, typer.Option(help="fc: native tools; prompt: a pythonic call list in the text.")] = "fc",
    decoder: Annotated[str, typer.Option(help="official: decode the raw text exactly as the official BFCL "
                                         "pipeline (leaderboard-comparable); lenient: the runtime's tolerant "
                                         "parsers, NOT official.")] = "official",
    tool_choice: Annotated[str, typer.Option(help="FC mode, single-turn entries: auto, or required (forces a "
                                             "call: every irrelevance entry then fails).")] = "auto",
    categories: Annotated[Optional[List[str]], typer.Option(
        "--categories", "-c", help="Categories or groups (simple, multiple, non_live, live, multi_turn, all...); "
        "repeatable or comma-separated. Default: non_live.")] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Candidates per entry.")] = 1,
    limit: Annotated[Optional[int], typer.Option(min=1, help="First N entries of each category.")] = None,
    seed: Annotated[int, typer.Option(help="Base seed; each entry and candidate derives its own.")] = 0,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.7,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
    max_tokens: Annotated[int, typer.Option(min=1, help="Per model call.")] = 512,
    top_logprobs: Annotated[int, typer.Option(min=0, max=20, help="Alternatives per token for the confidence "
                                              "selectors (0: none).")] = 20,
    constrained: Annotated[bool, typer.Option(help="Grammar-constrained tool calls where the backend can "
                                              "(embedded; vLLM does it server-side).")] = True,
    concurrency: Annotated[int, typer.Option(min=1, help="Entries in flight.")] = 8,
    task_timeout: Annotated[float, typer.Option(min=1.0, help="Seconds per entry before it is recorded as an "
                                                "error.")] = 900.0,
    retries: Annotated[int, typer.Option(min=0, help="Retries after a transient model error.")] = 3,
    retry_errors: Annotated[bool, typer.Option(help="On resume, run again the candidates that ended in an "
                                               "error.")] = False,
    run_dir: Annotated[Optional[Path], typer.Option(help=f"Where the run lives (resumes if it exists). Default: "
                                                    f"{DEFAULT_BFCL_DIR}-<mode>.")] = None,
    slots: Annotated[int, typer.Option(min=1, help="Embedded backend: sequences decoded together.")] = 16,
) -> None:
    """Run BFCL v3 (resumable), then print and save the report."""
    from agentforge.harnesses.bfcl.bench import BfclConfig, run_bfcl
    from agentforge.harnesses.rundir import RunDirMismatch

    out, err = consoles()
    if mode not in ("fc", "prompt"):
        fail(err, f"--mode must be fc or prompt, not {mode!r}")
    if decoder not in ("official", "lenient"):
        fail(err, f"--decoder must be official or lenient, not {decoder!r}")
    if tool_choice not in ("auto", "required"):
        fail(err, f"--tool-choice must be auto or required, not {tool_choice!r}")
    cats = [c.strip() for item in (categories or ["non_live"]) for c in item.split(",") if c.strip()]
    config = BfclConfig(model=model, mode=mode, decoder=decoder, tool_choice=tool_choice, categories=cats, n=n, limit=limit, seed=seed,
                        temperature=temperature, top_p=top_p, max_tokens=max_tokens, top_logprobs=top_logprobs,
                        constrained=constrained, concurrency=concurrency, task_timeout=task_timeout,
                        retries=retries, retry_errors=retry_errors)
    directory = run_dir or Path(f"{DEFAULT_BFCL_DIR}-{mode}")

    async def go():
        from agentforge.harnesses.bfcl.data import expand_categories

        expand_categories(cats)  # fail on a typo before loading a model
        kw = {"max_slots": slots} if model.partition(":")[0] == "embedded" else {}
        backend = await load_backend(model, err, **kw)
        try:
            return await run_bfcl(config, directory, backend=backend, console=err)
        finally:
            await backend.aclose()

    _run_and_report(go, out, err, f"report in {directory}/ (summary.json, report.txt, report.png)",
                    expected=(CliError, RunDirMismatch, ValueError, KeyError))


@bench_app.command()
def swebench(
    instances: Annotated[Path, typer.Option("--instances", "-i", help="SWE-bench rows: JSONL, JSON or parquet "
                                            "(e.g. ../shared/data/swebench_verified.jsonl, or the instances.jsonl "
                                            "of `agent train synth swe`).")],
    source: Annotated[str, typer.Option(help="Where patches come from: agent, gold, empty, predictions.")] = "agent",
    predictions: Annotated[Optional[Path], typer.Option(help="--source predictions: an official predictions "
                                                        "file (.jsonl or .json).")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Backend spec for --source agent.")] = "embedded",
    sandbox: Annotated[str, typer.Option(help="auto, bwrap, docker or local (no isolation).")] = "auto",
    repos: Annotated[Optional[Path], typer.Option(help="Directory of git clones named owner__name.")] = None,
    repo_url: Annotated[Optional[str], typer.Option(help="Clone URL template, e.g. "
                                                    "'https://github.com/{repo}.git'.")] = None,
    ids: Annotated[Optional[List[str]], typer.Option("--id", help="Only these instance ids (repeatable).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="First N instances.")] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Candidates per instance (agent only).")] = 1,
    seed: int = 0,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.7,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
    max_tokens: Annotated[int, typer.Option(min=1, help="Per model call.")] = 1024,
    max_steps: Annotated[int, typer.Option(min=1, help="Agent steps per candidate.")] = 200,
    format: Annotated[str, typer.Option(help="text (THOUGHT + one bash block) or tools (bash + "
                                        "str_replace_editor).")] = "text",
    concurrency: Annotated[int, typer.Option(min=1, help="Instances in flight.")] = 2,
    eval_timeout: Annotated[float, typer.Option(min=1.0, help="Seconds for one evaluation.")] = 1800.0,
    retry_errors: Annotated[bool, typer.Option(help="On resume, run errored candidates again.")] = False,
    run_dir: Annotated[Path, typer.Option(help="Where the run lives (resumes if it exists).")] = Path("runs/swebench"),
) -> None:
    """Run SWE-bench (resumable): patches from the agent, gold, empty or a predictions file, graded like
    the official harness; writes official predictions and the report."""
    from agentforge.harnesses.rundir import RunDirMismatch
    from agentforge.harnesses.swebench.bench import SweConfig, nothing_graded, run_swebench

    out, err = consoles()
    config = SweConfig(instances=str(instances), ids=ids or None, limit=limit, source=source,
                       predictions=str(predictions) if predictions else None, model=model, sandbox=sandbox,
                       repos=str(repos) if repos else None, repo_url=repo_url, n=n, seed=seed,
                       temperature=temperature, top_p=top_p, max_tokens=max_tokens, max_steps=max_steps,
                       format=format, concurrency=concurrency, eval_timeout=eval_timeout, retry_errors=retry_errors)

    async def go():
        backend = await load_backend(model, err) if source == "agent" else None
        try:
            return await run_swebench(config, run_dir, backend=backend, console=err)
        finally:
            if backend is not None:
                await backend.aclose()

    _, summary = _run_and_report(go, out, err, f"predictions in {run_dir}/predictions.jsonl · report in {run_dir}/",
                                 expected=(CliError, RunDirMismatch, ValueError, KeyError, FileNotFoundError))
    if nothing_graded(summary):
        err.print(f"[red]nothing could be graded: all {summary['error_candidates']} candidate(s) errored "
                  "(see the errors above); the scores are not a result[/]")
        raise typer.Exit(1)


@bench_app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory with config.json and journal.jsonl.")]) -> None:
    """Rebuild and print the report of a (possibly unfinished) run of any harness."""
    from agentforge.harnesses.report import print_report
    from agentforge.harnesses.rundir import RunDirError, harness_of

    out, err = consoles()
    try:
        harness = harness_of(run_dir)
        if harness == "swebench":
            from agentforge.harnesses.swebench.bench import (load_config, write_swebench_predictions,
                                                             write_swebench_report)

            config = load_config(run_dir)
            write_swebench_predictions(run_dir, config)
            print_report(write_swebench_report(run_dir, config), out)
            return
        from agentforge.harnesses.bfcl.bench import load_config as load_bfcl_config, write_bfcl_report

        bfcl_config = load_bfcl_config(run_dir)
    except RunDirError as e:
        fail(err, str(e))
    print_report(write_bfcl_report(run_dir, bfcl_config), out)
