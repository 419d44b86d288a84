"""How much the labelled-only LM head saves: one training step (forward +
backward) of the embedded model on the same packed rows, LM head and loss on
the labelled positions only (SftTrainer's loss) vs on every position (the
stock causal-LM loss), interleaved, median of N.

    python scripts/bench_sft_head.py --data records.jsonl [--seq-len 1024] [--rows 1] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    import torch

    from agentforge.runtime.backends.checkpoint import resolve
    from agentforge.training.sft.config import SftConfig
    from agentforge.training.sft.data import prepare
    from agentforge.training.sft.packing import PackedCollator
    from agentforge.training.sft.run import load_model, load_tokenizer
    from agentforge.training.sft.tokenize import IGNORE
    from agentforge.training.sft.trainer import labelled_loss

    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", default="embedded")
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--rows", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    config = SftConfig(data=[a.data], out=Path("/tmp/unused"), model=a.model, seq_len=a.seq_len, eval_fraction=0,
                       progress=False)
    model_dir = resolve(a.model)
    tokenizer = load_tokenizer(model_dir)
    rows = prepare(config, tokenizer).train[: a.rows]
    batch = PackedCollator(tokenizer.pad_token_id or 0)([vars(r) for r in rows])
    model = load_model(model_dir, config).train()
    tokens = int(batch["num_tokens"])
    labelled = int(batch["labels"][:, 1:].ne(IGNORE).sum())

    def full_loss():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(),
                                                 batch["labels"][:, 1:].flatten(), ignore_index=IGNORE)

    variants = {"labelled-only head": lambda: labelled_loss(model, batch), "full head": full_loss}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(a.reps + 1):
        for name, fn in variants.items():
            model.zero_grad(set_to_none=True)
            t = time.perf_counter()
            fn().backward()
            if rep:  # the first round warms up
                times[name].append(time.perf_counter() - t)
    print(f"{len(rows)} row(s), {tokens} tokens, {labelled} labelled ({labelled / tokens:.0%}), {a.reps} reps")
    base = statistics.median(times["full head"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:20s} {m:6.2f} s/step  {tokens / m:6.0f} tokens/s  {base / m:4.2f}x")


if __name__ == "__main__":
    main()
