"""`agent bench bfcl`'s options (see `harnesses.command`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from agentforge.harnesses.command import BenchRequest

DEFAULT_BFCL_DIR = "runs/bfcl"


def options(
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
) -> BenchRequest:
    """Run BFCL v3 (resumable), then print and save the report."""
    from agentforge.harnesses.bfcl.bench import BfclConfig

    cats = [c.strip() for item in (categories or ["non_live"]) for c in item.split(",") if c.strip()]
    config = BfclConfig(model=model, mode=mode, decoder=decoder, tool_choice=tool_choice, categories=cats, n=n,
                        limit=limit, seed=seed, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                        top_logprobs=top_logprobs, constrained=constrained, concurrency=concurrency,
                        task_timeout=task_timeout, retries=retries, retry_errors=retry_errors)
    embedded = model.partition(":")[0] == "embedded"
    return BenchRequest(config, run_dir or Path(f"{DEFAULT_BFCL_DIR}-{mode}"),
                        backend_options={"max_slots": slots} if embedded else {})
