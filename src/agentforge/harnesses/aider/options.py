"""`agent bench aider`'s options (see `harnesses.command`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from agentforge.harnesses.command import BenchRequest


def _split(text: Optional[str]) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def options(
    model: Annotated[str, typer.Option("--model", "-m", help="Backend spec (source model).")] = "embedded",
    edit_format: Annotated[str, typer.Option(help="Aider's edit format: whole or diff.")] = "whole",
    agentic: Annotated[bool, typer.Option(help="Our code agent (bash + editor) in the sandbox instead of "
                                          "Aider's protocol; the tests are absent from its workspace.")] = False,
    languages: Annotated[Optional[str], typer.Option(help="Comma-separated: cpp,go,java,javascript,python,rust "
                                                     "(default all).")] = None,
    keywords: Annotated[Optional[str], typer.Option(help="Comma-separated: only exercises whose name contains "
                                                    "one of these.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="First N exercises of each language.")] = None,
    num_tests: Annotated[Optional[int], typer.Option(min=1, help="N exercises after a shuffle seeded by "
                                                     "--seed (Aider's --num-tests).")] = None,
    source: Annotated[str, typer.Option(help="model, reference (the self-check: must pass) or stub "
                                        "(must fail).")] = "model",
    tries: Annotated[int, typer.Option(min=1, help="Tries per exercise; the test output feeds the next.")] = 2,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Candidates per exercise.")] = 1,
    seed: int = 0,
    temperature: Annotated[float, typer.Option(min=0.0, help="Aider's default is 0.")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 1.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Per model call.")] = 4096,
    max_steps: Annotated[int, typer.Option(min=1, help="--agentic: model calls per candidate.")] = 30,
    sandbox: Annotated[str, typer.Option(help="auto, bwrap, docker or local (no isolation).")] = "auto",
    concurrency: Annotated[int, typer.Option(min=1, help="Exercises in flight.")] = 2,
    build_concurrency: Annotated[int, typer.Option(min=1, help="Test runs (builds) at once.")] = 1,
    data: Annotated[Optional[Path], typer.Option(help="The polyglot-benchmark folder (default "
                                                 "../shared/data/polyglot-benchmark).")] = None,
    retry_errors: Annotated[bool, typer.Option(help="On resume, run errored candidates again.")] = False,
    check_toolchains: Annotated[bool, typer.Option(help="Say per language whether its tests can run here "
                                                   "(and what to install), then exit.")] = False,
    run_dir: Annotated[Path, typer.Option(help="Where the run lives (resumes if it exists).")] = Path("runs/aider"),
) -> BenchRequest:
    """Aider Polyglot (resumable): 225 exercises in 6 languages under Aider's protocol (whole/diff edits,
    2 tries with the test output fed back) or as our code agent; tests sandboxed. Set up the toolchains
    once with `bash scripts/setup-polyglot.sh`."""
    if check_toolchains:
        from agentforge.harnesses.aider.check import print_check

        raise typer.Exit(print_check(sandbox))
    from agentforge.harnesses.aider.bench import AiderConfig
    from agentforge.harnesses.aider.data import LANGUAGES

    config = AiderConfig(model=model, edit_format=edit_format, agentic=agentic,
                         languages=_split(languages) or list(LANGUAGES), keywords=_split(keywords), limit=limit,
                         num_tests=num_tests, source=source, tries=tries, n=n, seed=seed, temperature=temperature,
                         top_p=top_p, max_tokens=max_tokens, max_steps=max_steps, sandbox=sandbox,
                         concurrency=concurrency, build_concurrency=build_concurrency,
                         data=str(data) if data else "", retry_errors=retry_errors)
    return BenchRequest(config, run_dir)
