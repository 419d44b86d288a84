"""Training speed: our SFT against a plain `transformers.Trainer`, same model, data and batch.

Both sides fine-tune the real embedded model (SmolLM2-135M, full fine-tuning,
fp32 on CPU) on the same records, tokenized by the same function (so the same
ids and the same assistant-only labels), with the same optimizer, schedule and
records per optimizer step:

- ours: `agentforge.training.sft.build_trainer` (records packed into rows of
  --seq-len with no attention across them; the LM head only on labelled positions);
- baseline: `transformers.Trainer` as users run it: one record per sequence,
  padded to the longest of the micro-batch (DataCollatorForSeq2Seq pads input
  ids, attention mask and labels), and the model's own loss, which computes
  the LM head on every position. Its micro-batch is --batch records; our rows
  are sized to hold as many on average, so both take the same tokens per step.

Tokens/s counts real (non-pad) tokens for both: ours from the collator's count,
the baseline's from its attention mask (Trainer's "non_padding"). The first
step of each run is a warm-up and not timed. Runs go A B B A (--rounds 2) so a
change in the machine's load falls on both sides.

    python bench/sft_speed.py                       # built-in realistic records
    python bench/sft_speed.py --data train.jsonl    # any records JSONL
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/sft_records.py


def step_timer():
    """A callback that records (seconds, real tokens) for each optimizer step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.steps: list[tuple[float, int]] = []

        def on_step_begin(self, args, state, control, **kw):
            self.t0, self.tok0 = time.perf_counter(), state.num_input_tokens_seen

        def on_step_end(self, args, state, control, **kw):
            self.steps.append((time.perf_counter() - self.t0, state.num_input_tokens_seen - self.tok0))

    return StepTimer()


def run_ours(data: Path, model_dir: Path, args, out: Path) -> dict:
    from agentforge.training.sft import SftConfig, build_trainer

    config = SftConfig(data=[data], out=out, model=str(model_dir), max_steps=args.steps, seq_len=args.seq_len,
                       batch_size=1, grad_accum=args.grad_accum, lr=1e-5, eval_fraction=0.0,
                       save_steps=10**6, progress=False, seed=0)
    trainer, _ = build_trainer(config)
    trainer.args.save_strategy = "no"
    timer = step_timer()
    trainer.add_callback(timer)
    out_ = trainer.train()
    return {"steps": timer.steps, "loss": out_.training_loss}


def run_baseline(docs, tokenizer, model_dir: Path, batch: int, args, out: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    model.config.use_cache = False
    dataset = [{"input_ids": d.input_ids, "labels": d.labels, "attention_mask": [1] * len(d)} for d in docs]
    targs = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=batch, gradient_accumulation_steps=args.grad_accum,
        max_steps=args.steps, learning_rate=1e-5, lr_scheduler_type="cosine", warmup_steps=0.05, seed=0,
        data_seed=0, use_cpu=True, save_strategy="no", eval_strategy="no", report_to="none", logging_steps=1,
        disable_tqdm=True, remove_unused_columns=False, include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0)
    timer = step_timer()
    trainer = Trainer(model=model, args=targs, train_dataset=dataset, callbacks=[timer],
                      data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
    out_ = trainer.train()
    return {"steps": timer.steps, "loss": out_.training_loss}


def rate(steps: list[tuple[float, int]]) -> tuple[float, int, float]:
    timed = steps[1:]  # the first step is a warm-up
    seconds, tokens = sum(s for s, _ in timed), sum(t for _, t in timed)
    return tokens / seconds, tokens, seconds


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="records JSONL (default: bench/sft_records.py's realistic set)")
    ap.add_argument("--records", type=int, default=96, help="records built when --data is not given")
    ap.add_argument("--model", default="embedded", help="'embedded' or a Hugging Face checkpoint folder")
    ap.add_argument("--batch", type=int, default=4, help="records per micro-batch of the baseline (padded)")
    ap.add_argument("--seq-len", type=int, help="our packed row length (default: fits --batch records on average)")
    ap.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (both sides)")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per run, the first not timed")
    ap.add_argument("--rounds", type=int, default=2, help="A B B A ...: runs of each side")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    import torch

    from agentforge.runtime.backends import checkpoint
    from agentforge.training.sft.config import SftConfig
    from agentforge.training.sft.data import prepare
    from agentforge.training.sft.records import load_records
    from agentforge.training.sft.run import load_tokenizer
    from agentforge.training.sft.tokenize import TokenizationMismatch, encode_record
    from sft_records import write_records

    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = checkpoint.resolve(args.model)
    tokenizer = load_tokenizer(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data or write_records(tmp / "records.jsonl", args.records)
        docs = []
        for r in load_records([data]):
            try:
                doc = encode_record(tokenizer, r.messages, r.tools)
            except TokenizationMismatch:
                continue  # as our trainer does: such records are skipped on both sides
            if len(doc) <= (args.seq_len or 8192):
                docs.append(doc)
        print(f"{len(docs)} records, {sum(map(len, docs))} tokens, "
              f"{sum(d.trained_tokens for d in docs) / sum(map(len, docs)):.0%} with loss; "
              f"torch threads {torch.get_num_threads()}", flush=True)

        # the same batch: the baseline's micro-batch is --batch records, padded; our row is long enough to
        # hold as many records on average (packed rows are ~95% full), so both take the same tokens per step
        batch = args.batch
        mean = sum(map(len, docs)) / len(docs)
        args.seq_len = args.seq_len or max(max(map(len, docs)), 128 * math.ceil(batch * mean / 0.95 / 128))
        stats = prepare(SftConfig(data=[data], out=tmp, seq_len=args.seq_len, eval_fraction=0.0, progress=False),
                        tokenizer).stats
        print(f"ours: {stats.train_rows} rows of {args.seq_len} ({stats.fill:.0%} full, "
              f"{stats.train_records / stats.train_rows:.1f} records a row); "
              f"baseline: micro-batches of {batch} records, padded", flush=True)

        results: dict[str, list] = {"ours": [], "baseline": []}
        for i in range(args.rounds):
            for side in (("baseline", "ours") if i % 2 == 0 else ("ours", "baseline")):
                started = time.monotonic()
                if side == "ours":
                    r = run_ours(data, model_dir, args, tmp / f"ours-{i}")
                else:
                    r = run_baseline(docs, tokenizer, model_dir, batch, args, tmp / f"baseline-{i}")
                tps, tokens, seconds = rate(r["steps"])
                results[side].append({"tokens_per_s": tps, "tokens": tokens, "seconds": seconds, "loss": r["loss"]})
                print(f"round {i + 1} {side:8s}: {tps:7.1f} tokens/s ({tokens} real tokens in {seconds:.1f} s "
                      f"over {len(r['steps']) - 1} timed steps; run {time.monotonic() - started:.0f} s; "
                      f"loss {r['loss']:.3f})", flush=True)

    def total(side):
        return sum(x["tokens"] for x in results[side]) / sum(x["seconds"] for x in results[side])

    summary = {"ours_tokens_per_s": total("ours"), "baseline_tokens_per_s": total("baseline"),
               "ratio": total("ours") / total("baseline"), "baseline_batch": batch, "seq_len": args.seq_len,
               "grad_accum": args.grad_accum, "steps": args.steps, "rounds": results}
    print(f"ours {summary['ours_tokens_per_s']:.1f} tokens/s, transformers.Trainer (padded, batch {batch}) "
          f"{summary['baseline_tokens_per_s']:.1f} tokens/s: {summary['ratio']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
