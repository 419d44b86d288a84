"""One SFT run, start to finish: data, model, Trainer, resume, export.

Re-running the same command on the same --out resumes from the last whole
checkpoint; a run that already exported its model is not trained again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentforge.training.sft.config import SftConfig
from agentforge.training.sft.export import FINAL

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
CHECKPOINTS = "checkpoints"


class RunMismatch(ValueError):
    """--out holds a run with other settings."""


@dataclass
class SftResult:
    final: Path
    steps: int = 0
    tokens: int = 0
    wall_s: float = 0.0
    resumed_from: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)
    train_loss: float | None = None
    eval_loss: float | None = None


def load_tokenizer(model_dir: Path):
    """The model's tokenizer, with our tool-aware template unless it has its own."""
    from transformers import AutoTokenizer

    from agentforge.runtime.backends.chat_format import CHAT_TEMPLATE

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not tokenizer.chat_template or "tools" not in tokenizer.chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE  # a template that ignores tools would train on the wrong prompts
    return tokenizer


def load_model(model_dir: Path, config: SftConfig):
    import torch
    from transformers import AutoModelForCausalLM

    from agentforge.training.sft import doc_attention

    if config.attn_implementation == doc_attention.ATTN_NAME:
        doc_attention.register()
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation=config.attn_implementation)
    model.config.use_cache = False
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, target_modules="all-linear",
                          lora_dropout=0.0, task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    return model


def training_arguments(config: SftConfig, prepared, world_size_hint: int = 1):
    import torch
    from transformers import TrainingArguments

    per_step = config.batch_size * config.grad_accum * world_size_hint
    steps = config.max_steps or max(1, math.ceil(config.epochs * math.ceil(len(prepared.train) / per_step)))
    has_eval = bool(prepared.eval)
    kwargs: dict[str, Any] = dict(
        output_dir=str(config.out / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of the steps
        weight_decay=config.weight_decay,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=None,  # rotated by SftTrainer once the new checkpoint is whole
        eval_strategy="steps" if has_eval else "no",
        eval_steps=(config.eval_steps or max(1, steps // 5)) if has_eval else None,
        prediction_loss_only=True,
        seed=config.seed,
        data_seed=config.seed,
        bf16=torch.cuda.is_available(),
        # without CUDA, processes started by torchrun or `accelerate launch` must join one gloo group on the
        # CPU; otherwise accelerate starts each as a lone process and N processes make N independent runs
        use_cpu=not torch.cuda.is_available(),
        remove_unused_columns=False,
        report_to="none",
        disable_tqdm=True,  # our progress bar shows tokens/s
        include_num_input_tokens_seen="all",  # counted by SftTrainer as real (unpadded) tokens
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    kwargs.update(config.extra)
    return TrainingArguments(**kwargs)


def build_trainer(config: SftConfig, *, model_dir: Path | None = None, tokenizer=None, prepared=None, records=None):
    """The data, model and SftTrainer of a run (no training yet). Returns (trainer, prepared)."""
    from transformers.trainer_callback import PrinterCallback

    from agentforge.runtime.backends import checkpoint
    from agentforge.training.sft.data import RowDataset, prepare
    from agentforge.training.sft.callbacks import MetricsCallback, ProgressCallback
    from agentforge.training.sft.packing import PackedCollator
    from agentforge.training.sft.trainer import SftTrainer

    config.validate()
    model_dir = model_dir or checkpoint.resolve(config.model)
    tokenizer = tokenizer or load_tokenizer(model_dir)
    prepared = prepared or prepare(config, tokenizer, records)
    args = training_arguments(config, prepared, int(os.environ.get("WORLD_SIZE", "1")))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trainer = SftTrainer(
        model=load_model(model_dir, config),
        args=args,
        train_dataset=RowDataset(prepared.train),
        eval_dataset=RowDataset(prepared.eval) if prepared.eval else None,
        data_collator=PackedCollator(pad),
        processing_class=tokenizer,
        callbacks=[MetricsCallback(config.out)] + ([ProgressCallback()] if config.progress else []),
        keep_checkpoints=config.keep_checkpoints,
    )
    trainer.remove_callback(PrinterCallback)
    return trainer, prepared


def check_run_file(config: SftConfig) -> None:
    """Refuse to resume a run made with other settings; record these settings otherwise."""
    path = config.out / RUN_FILE
    mine = config.fingerprint()
    if path.exists():
        theirs = json.loads(path.read_text()).get("config", {})
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if differ:
            raise RunMismatch(
                f"{config.out} holds a run with other settings ({', '.join(differ)} differ); "
                "re-run with the same options to resume it, or give another --out for a new run"
            )
        return
    config.out.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) != 0:  # under a launcher: the main process writes it
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"config": mine}, indent=1) + "\n")
    tmp.replace(path)


def train_sft(config: SftConfig) -> SftResult:
    """Train (or resume) and export `<out>/final`."""
    from agentforge.training.sft.records import load_records

    config.validate()
    started = time.monotonic()
    records = load_records(config.data)  # bad data fails here, before torch loads and before run.json
    final = config.out / FINAL
    check_run_file(config)
    if final.is_dir():
        log.info("%s already holds the trained model; nothing to do", final)
        return SftResult(final=final, data=_saved_info(final).get("data", {}))
    from agentforge.training.sft import checkpoints
    from agentforge.training.sft.export import export
    from agentforge.training.sft.metrics import METRICS_FILE, truncate_metrics

    trainer, prepared = build_trainer(config, records=records)
    if trainer.is_fsdp_enabled and config.lora:
        raise ValueError("LoRA under FSDP is not supported: merging the adapters on export needs the whole model "
                         "on one process. Train LoRA without FSDP (only the adapters train, so one GPU holds it), "
                         "or use full fine-tuning (--full) under FSDP")
    root = config.out / CHECKPOINTS
    resume = None
    if trainer.is_world_process_zero():
        for folder in checkpoints.remove_incomplete(root):
            log.warning("removed %s: its save was cut short", folder)
    trainer.accelerator.wait_for_everyone()
    resume = checkpoints.latest_complete(root)
    if trainer.is_world_process_zero():
        truncate_metrics(config.out / METRICS_FILE, _step_of(resume))
    if resume is not None:
        log.info("resuming from %s", resume)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    # the Trainer evaluates at the last step (and a resumed finished run has it in its restored log)
    evals = [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]
    eval_loss = evals[-1] if evals else None
    result = SftResult(
        final=final,
        steps=trainer.state.global_step,
        tokens=trainer.state.num_input_tokens_seen,
        wall_s=time.monotonic() - started,
        resumed_from=resume,
        data=vars(prepared.stats) | {"summary": prepared.stats.summary(config)},
        train_loss=output.training_loss,
        eval_loss=eval_loss,
    )
    # under FSDP each process holds a shard of the weights: gathering them is a collective, so every
    # process takes part, and the main process gets the whole model to write
    full = trainer.accelerator.get_state_dict(trainer.model) if trainer.is_fsdp_enabled else None
    if trainer.is_world_process_zero():
        info = {"config": config.fingerprint(), "data": result.data, "steps": result.steps,
                "tokens": result.tokens, "eval_loss": eval_loss}
        export(trainer.accelerator.unwrap_model(trainer.model), trainer.processing_class, config.out, info=info,
               state_dict=full)
    trainer.accelerator.wait_for_everyone()
    return result


def _step_of(folder: Path | None) -> int:
    return int(folder.name.rsplit("-", 1)[1]) if folder is not None else 0


def _saved_info(final: Path) -> dict:
    try:
        return json.loads((final / "agentforge-sft.json").read_text())
    except (OSError, ValueError):
        return {}
