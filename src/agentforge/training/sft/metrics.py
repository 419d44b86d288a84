"""Training metrics: a JSONL line per logging step, a PNG loss curve, a progress bar.

On resume, lines past the checkpoint's step are dropped first (they belong to
steps that are trained again), so no step is counted twice.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
PLOT_FILE = "loss.png"


def truncate_metrics(path: Path, last_step: int) -> None:
    """Keep only the lines of steps up to `last_step` (0: none)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= last_step:
                kept.append(line)
        except ValueError:
            continue  # a line cut by a kill
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    tmp.replace(path)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def plot_loss(metrics_path: Path, png_path: Path, title: str = "SFT loss") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
    evals = [(r["step"], r["eval_loss"]) for r in rows if r.get("eval_loss") is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train loss", linewidth=1)
    if evals:
        ax.plot(*zip(*evals), "o-", label="eval loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = png_path.with_name(f".{png_path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(png_path)


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
