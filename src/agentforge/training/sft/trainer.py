"""SftTrainer: transformers.Trainer with a loss on labelled positions only.

Two changes to the stock Trainer, both measured (see BENCHMARKS.md):
- The LM head runs only where there is a label. The model's own forward takes
  `logits_to_keep` as a boolean (batch, seq) mask and projects just those
  hidden states; with SmolLM2's 49152-token vocabulary the head and its
  softmax are a large share of a step, and most tokens (system prompt, tools,
  tool results) carry no loss. Going through the model's forward (not
  calling its parts) keeps DDP/FSDP wrappers working.
- The loss is a sum over labelled tokens divided by the labelled tokens of
  the whole optimizer step (the Trainer's `num_items_in_batch`, across
  micro-batches and processes), so gradient accumulation and the number of
  processes do not change the result.
Checkpoint saves are marked complete only once whole (see checkpoints.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import Trainer

from agentforge.training.sft import checkpoints
from agentforge.training.sft.tokenize import IGNORE


def labelled_loss(model, inputs: dict, num_items_in_batch=None) -> torch.Tensor:
    """Cross-entropy of the next token at labelled positions: summed, then divided
    by `num_items_in_batch` (the step's labelled tokens) or by this batch's."""
    labels = inputs["labels"]
    targets = labels[:, 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = targets != IGNORE
    # use_cache=False matters: with a cache, transformers does not read the position ids as document bounds
    out = model(input_ids=inputs["input_ids"], position_ids=inputs["position_ids"], logits_to_keep=keep,
                use_cache=False)
    logits = out.logits  # (labelled positions, vocab), row-major
    if logits.dim() == 3:  # a model class that ignores a boolean logits_to_keep: same loss, no saving
        logits = logits[keep]
    total = F.cross_entropy(logits.float(), targets[keep[:, :-1]], reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else keep.sum().clamp(min=1)
    return total / count


class SftTrainer(Trainer):
    def __init__(self, *args, keep_checkpoints: int = 2, **kw):
        super().__init__(*args, **kw)
        self.keep_checkpoints = keep_checkpoints
        # our loss takes num_items_in_batch and is already normalized for gradient accumulation
        self.model_accepts_loss_kwargs = True
        self.loss_is_scaled_for_ga = True

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = labelled_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # num_items_in_batch counts every process's tokens; DDP averages gradients over processes
            loss = loss * self.accelerator.num_processes
        return (loss, {}) if return_outputs else loss  # no logits kept: prediction_loss_only

    def _track_num_input_tokens(self, inputs):
        # real tokens (the collator's count), not the padded width
        if "num_tokens" not in inputs:
            return super()._track_num_input_tokens(inputs)
        tokens = torch.as_tensor(inputs["num_tokens"], device=self.args.device, dtype=torch.int64)
        self.state.num_input_tokens_seen += int(self.accelerator.gather(tokens).sum().item())

    def _save_checkpoint(self, model, trial):
        folder = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
        if self.args.should_save and folder.exists():
            shutil.rmtree(folder)  # a save at this step that a kill cut short
        self.accelerator.wait_for_everyone()
        super()._save_checkpoint(model, trial)
        self.accelerator.wait_for_everyone()  # every process's shards are written
        if self.args.should_save:
            checkpoints.mark_complete(folder)
            checkpoints.rotate(Path(self.args.output_dir), self.keep_checkpoints)
