"""`agent train merge`: the typer command (thin: parses, then calls run.merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer


def merge(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the merged checkpoint (serve it with "
                                      "`agent serve -m embedded:OUT`).")],
    method: Annotated[str, typer.Option("--method", help="linear, task_arithmetic, ties or sce.")] = "sce",
    base: Annotated[Optional[Path], typer.Option("--base", "-b", help="The model the others were fine-tuned "
                                                 "from (task vectors are θ_i − θ_base); not for linear.")] = None,
    model: Annotated[Optional[List[Path]], typer.Option("--model", "-m", help="A checkpoint folder to merge; "
                                                        "repeatable.")] = None,
    weight: Annotated[Optional[List[float]], typer.Option("--weight", "-w", help="One per -m, in order "
                                                          "(default 1.0 each); linear, task_arithmetic, ties.")] = None,
    density: Annotated[Optional[float], typer.Option(help="ties: share of each task vector kept by magnitude "
                                                     "(default 1.0).")] = None,
    select_topk: Annotated[Optional[float], typer.Option("--select-topk", help="sce: share of elements kept by "
                                                         "variance across the task vectors (default 1.0).")] = None,
    lambda_: Annotated[Optional[float], typer.Option("--lambda", help="task_arithmetic, ties: scale of the "
                                                     "merged task vector (default 1.0).")] = None,
    normalize: Annotated[Optional[bool], typer.Option("--normalize/--no-normalize", help="Divide by the sum of "
                                                      "the weights (default: on for linear and ties, off for "
                                                      "task_arithmetic).", show_default=False)] = None,
    dtype: Annotated[Optional[str], typer.Option(help="Output dtype: float32, bfloat16 or float16 (default: "
                                                 "the base's). Sums run in float32.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="A mergekit YAML instead of the "
                                                   "options above (absolute model paths).")] = None,
    tokenizer_from: Annotated[Optional[Path], typer.Option(help="Checkpoint whose tokenizer, chat template and "
                                                           "generation config the output gets (default: the "
                                                           "base, else the first -m).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Write into a non-empty --out.")] = False,
) -> None:
    """Merge fine-tuned checkpoints of one base: linear, task arithmetic, TIES or SCE (mergekit's math)."""
    from rich.console import Console

    from agentforge.training.merge.checkpoints import CheckpointError
    from agentforge.training.merge.run import MergeError, merge as run_merge, merge_from_yaml
    from agentforge.training.merge.spec import MergeSpec, MergeSpecError

    console, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        if config is not None:
            if model or base is not None or weight:
                raise MergeSpecError("--config names the models itself: drop --base/-m/--weight")
            result = merge_from_yaml(config, out, overwrite=overwrite, tokenizer_from=tokenizer_from)
        else:
            spec = MergeSpec(method=method, models=list(model or []), base=base, weights=list(weight) if weight
                             else None, density=density, select_topk=select_topk, lambda_=lambda_,
                             normalize=normalize, dtype=dtype)
            result = run_merge(spec, out, overwrite=overwrite, tokenizer_from=tokenizer_from)
    except (MergeSpecError, CheckpointError, MergeError) as e:
        err.print(f"[bold red]error:[/] [red]{e}[/]", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"merged ({result.method}): {result.tensors} tensors in {result.wall_s:.1f} s; "
                  f"copied {', '.join(result.copied)}", soft_wrap=True)
    console.print(f"model: {result.out}")
    console.print(f"serve it: agent serve -m embedded:{result.out}", soft_wrap=True)
