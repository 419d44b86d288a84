"""`agent train sft`: the typer command (thin: parses, then calls `train_sft`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer


def sft(
    data: Annotated[List[Path], typer.Option("--data", "-d", help="JSONL of {messages, tools} records; repeatable.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (re-running the same command resumes): "
                                      "checkpoints/, metrics.jsonl, loss.png, final/ (the trained model).")],
    model: Annotated[str, typer.Option("--model", "-m", help="'embedded' (SmolLM2-135M) or a Hugging Face "
                                       "checkpoint folder.")] = "embedded",
    lora: Annotated[bool, typer.Option("--lora/--full", help="LoRA adapters (merged on export) or full "
                                       "fine-tuning.")] = False,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 16,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate (default 1e-4 full, 2e-4 LoRA).")] = None,
    epochs: Annotated[float, typer.Option(min=0.0, help="Passes over the data.")] = 1.0,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Optimizer steps; overrides --epochs.")] = None,
    seq_len: Annotated[int, typer.Option(min=16, help="Tokens per packed row.")] = 1024,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per micro-batch.")] = 1,
    grad_accum: Annotated[int, typer.Option(min=1, help="Micro-batches per optimizer step.")] = 8,
    warmup_ratio: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of steps of linear warm-up "
                                                "(then cosine decay).")] = 0.05,
    eval_fraction: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of records held out for "
                                                 "the eval loss.")] = 0.05,
    eval_steps: Annotated[Optional[int], typer.Option(min=1, help="Steps between evals (default: 5 per run).")] = None,
    save_steps: Annotated[int, typer.Option(min=1, help="Steps between checkpoints.")] = 20,
    too_long: Annotated[str, typer.Option(help="A record longer than --seq-len: 'drop' or 'truncate'.")] = "drop",
    seed: Annotated[int, typer.Option(help="Seed of the split, the row order and the initialisation.")] = 0,
) -> None:
    """Fine-tune a model on tool-use / coding conversations (loss on assistant turns only)."""
    from rich.console import Console

    from agentforge.training.sft.config import SftConfig
    from agentforge.training.sft.records import RecordError
    from agentforge.training.sft.run import RunMismatch, train_sft

    console, err = Console(highlight=False), Console(stderr=True, highlight=False)
    config = SftConfig(data=list(data), out=out, model=model, lora=lora, lora_rank=lora_rank, lr=lr, epochs=epochs,
                       max_steps=max_steps, seq_len=seq_len, batch_size=batch_size, grad_accum=grad_accum,
                       warmup_ratio=warmup_ratio, eval_fraction=eval_fraction, eval_steps=eval_steps,
                       save_steps=save_steps, too_long=too_long, seed=seed)
    try:
        result = train_sft(config)
    except (RecordError, RunMismatch, ValueError, FileNotFoundError) as e:
        err.print(f"[bold red]error:[/] [red]{e}[/]", soft_wrap=True)
        raise typer.Exit(1)
    if result.data.get("summary"):
        console.print(f"data: {result.data['summary']}", soft_wrap=True)
    if result.steps:
        loss = f", eval loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""
        console.print(f"trained {result.steps} steps, {result.tokens} tokens in {result.wall_s / 60:.1f} min{loss}")
    console.print(f"model: {result.final}")
    console.print(f"serve it: agent serve -m embedded:{result.final}   (a Llama-architecture model on CPU; "
                  f"any model: agent serve -m vllm:{result.final})", soft_wrap=True)
