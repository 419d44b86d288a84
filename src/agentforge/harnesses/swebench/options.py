"""`agent bench swebench`'s options (see `harnesses.command`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from agentforge.harnesses.command import BenchRequest


def options(
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
) -> BenchRequest:
    """Run SWE-bench (resumable): patches from the agent, gold, empty or a predictions file, graded like
    the official harness; writes official predictions and the report."""
    from agentforge.harnesses.swebench.bench import SweConfig

    config = SweConfig(instances=str(instances), ids=ids or None, limit=limit, source=source,
                       predictions=str(predictions) if predictions else None, model=model, sandbox=sandbox,
                       repos=str(repos) if repos else None, repo_url=repo_url, n=n, seed=seed,
                       temperature=temperature, top_p=top_p, max_tokens=max_tokens, max_steps=max_steps,
                       format=format, concurrency=concurrency, eval_timeout=eval_timeout, retry_errors=retry_errors)
    return BenchRequest(config, run_dir)
