"""Trainer callbacks: metrics.jsonl and loss.png as training goes, and the progress bar."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from agentforge.training.sft.metrics import METRICS_FILE, PLOT_FILE, plot_loss


class MetricsCallback(TrainerCallback):
    """Writes metrics.jsonl (main process only) and redraws loss.png at each eval and at the end."""

    def __init__(self, out: Path):
        self.path, self.png = out / METRICS_FILE, out / PLOT_FILE
        self.start: tuple[float, int] | None = None  # (time, tokens) of the last log: tokens/s between logs

    def on_train_begin(self, args, state, control, **kw):
        self.start = (time.monotonic(), state.num_input_tokens_seen)

    def on_log(self, args, state, control, logs=None, **kw):
        if not state.is_world_process_zero or not logs:
            return
        now, tokens = time.monotonic(), state.num_input_tokens_seen
        t0, tok0 = self.start or (now, tokens)
        row: dict[str, Any] = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
        for key in ("loss", "learning_rate", "grad_norm", "eval_loss"):
            if key in logs and _finite(logs[key]):
                row["lr" if key == "learning_rate" else key] = float(logs[key])
        if "loss" in row:  # a training log: it advances the tokens/s window
            row["tokens"] = tokens
            row["tokens_per_s"] = round((tokens - tok0) / (now - t0), 2) if now > t0 else None
            self.start = (now, tokens)
        if len(row) > 2:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")

    def on_evaluate(self, args, state, control, **kw):
        if state.is_world_process_zero:
            plot_loss(self.path, self.png)

    def on_train_end(self, args, state, control, **kw):
        if state.is_world_process_zero:
            plot_loss(self.path, self.png)


class ProgressCallback(TrainerCallback):
    """A tqdm bar over optimizer steps with loss, tokens/s and ETA."""

    def __init__(self) -> None:
        self.bar = None
        self.t0, self.tokens0 = 0.0, 0

    def on_train_begin(self, args, state, control, **kw):
        if state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="sft", unit="step",
                            dynamic_ncols=True)
            self.t0, self.tokens0 = time.monotonic(), state.num_input_tokens_seen

    def on_step_end(self, args, state, control, **kw):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kw):
        if self.bar is None or not logs:
            return
        elapsed = time.monotonic() - self.t0
        post = {}
        if "loss" in logs:
            post["loss"] = f"{logs['loss']:.3f}"
        if "eval_loss" in logs:
            post["eval"] = f"{logs['eval_loss']:.3f}"
        if elapsed > 0:
            post["tok/s"] = f"{(state.num_input_tokens_seen - self.tokens0) / elapsed:.0f}"
        self.bar.set_postfix(post, refresh=True)

    def on_train_end(self, args, state, control, **kw):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
