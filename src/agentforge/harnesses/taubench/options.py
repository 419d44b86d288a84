"""`agent bench taubench`'s options (see `harnesses.command`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from agentforge.harnesses.command import BenchRequest


def options(
    domains: Annotated[List[str], typer.Option("--domain", "-d", help="retail, airline, telecom; repeatable or "
                                               "comma-separated.")] = ["retail"],  # noqa: B006 - typer's default
    model: Annotated[str, typer.Option("--model", "-m", help="The agent: any backend spec, "
                                       "MODEL@best-of-N:SELECTOR and router:FILE included.")] = "embedded",
    user_model: Annotated[str, typer.Option(help="The user simulator: any backend spec (a strong model behind "
                                            "an OpenAI-compatible URL; the leaderboard uses gpt-4.1 or "
                                            "better).")] = "",
    split: Annotated[str, typer.Option(help="base (the leaderboard's: retail 114, airline 50, telecom 114), "
                                       "train or test.")] = "base",
    task_ids: Annotated[Optional[List[str]], typer.Option("--task-id", help="Only these official task ids "
                                                          "(DOMAIN/ID with several domains; repeatable).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="First N tasks of each domain.")] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Trials per task (pass^k for k = 1..n; the "
                                   "leaderboard wants 4).")] = 1,
    seed: Annotated[int, typer.Option(help="The official trial-seed scheme's seed.")] = 300,
    temperature: Annotated[float, typer.Option(min=0.0, help="Agent temperature (official: 0).")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 1.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Per agent message.")] = 1024,
    user_temperature: Annotated[float, typer.Option(min=0.0, help="User temperature (official: 0; other "
                                                    "values make the run custom).")] = 0.0,
    user_max_tokens: Annotated[int, typer.Option(min=1, help="Per user message.")] = 512,
    max_steps: Annotated[int, typer.Option(min=1, help="Message hops per simulation (official: 200; other "
                                           "values make the run custom).")] = 200,
    max_errors: Annotated[int, typer.Option(min=1, help="Tool errors per simulation (official: 10).")] = 10,
    top_logprobs: Annotated[int, typer.Option(min=0, max=20, help="Agent alternatives per token for the "
                                              "confidence selectors (0: none).")] = 20,
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks in flight (each runs its trials at "
                                             "once).")] = 4,
    task_timeout: Annotated[float, typer.Option(min=1.0, help="Seconds per task before it is recorded as an "
                                                "error.")] = 3600.0,
    retries: Annotated[int, typer.Option(min=0, help="Retries after a transient model error.")] = 3,
    retry_errors: Annotated[bool, typer.Option(help="On resume, run again the trials that ended in an "
                                               "error.")] = False,
    run_dir: Annotated[Path, typer.Option(help="Where the run lives (resumes if it exists).")] = Path(
        "runs/taubench"),
) -> BenchRequest:
    """Run τ²-bench (resumable): official tasks, environment, user simulator and evaluator; pass^k report
    and τ² Results files that `tau2 evaluate-trajs` re-grades."""
    from agentforge.harnesses.taubench.bench import TauConfig

    config = TauConfig(domains=[d.strip() for item in domains for d in item.split(",") if d.strip()],
                       model=model, user_model=user_model, split=split, task_ids=task_ids or None, limit=limit,
                       n=n, seed=seed, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                       user_temperature=user_temperature, user_max_tokens=user_max_tokens, max_steps=max_steps,
                       max_errors=max_errors,
                       top_logprobs=top_logprobs, concurrency=concurrency, task_timeout=task_timeout,
                       retries=retries, retry_errors=retry_errors)
    return BenchRequest(config, run_dir)
