"""One SFT training step on a GPU, for a model of Qwen3-8B's architecture: tokens/s and MFU.

No weights are downloaded: the model is Qwen3-8B's config (written below),
randomly initialised and cut to a few decoder layers (--layers, default 4).
The step is our trainer's (agentforge.training.sft): documents packed into
rows with no attention across them, and the LM head run only on labelled
positions. The documents are random token ids with assistant-like labelled
spans (about a third of each document), which is all the step's cost depends on.

    python bench/sft_gpu.py                       # H100/H200/A100: peak bf16 looked up
    python bench/sft_gpu.py --peak-tflops 362     # another GPU: give its dense bf16 peak
    python bench/sft_gpu.py --device cpu --layers 1 --hidden 64   # a CPU dry run of the path

FLOPs per step (what MFU counts; "useful" FLOPs, recomputation not counted):
  6 * N_layers * tokens                    the decoder layers' weights (N excludes embeddings and LM head)
  6 * hidden * vocab * labelled_tokens     the LM head, run on labelled positions only
  6 * 2 * layers * heads * head_dim * sum over documents of n(n+1)/2    causal attention (QK^T and AV)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time

# Qwen3-8B (config.json of Qwen/Qwen3-8B)
QWEN3_8B = dict(hidden_size=4096, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                intermediate_size=12288, vocab_size=151936, head_dim=128, rope_theta=1_000_000.0,
                max_position_embeddings=40960, rms_norm_eps=1e-6, tie_word_embeddings=False,
                hidden_act="silu", attention_bias=False)

# Dense bf16 peak TFLOP/s (no sparsity), by the name torch reports. Order matters: the first match wins.
PEAKS = [("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0),
         ("A100", 312.0)]


def peak_tflops(device_name: str) -> float | None:
    for key, peak in PEAKS:
        if key.lower() in device_name.lower():
            return peak
    return None


def model_config(layers: int, hidden: int | None, vocab: int | None) -> dict:
    cfg = dict(QWEN3_8B, num_hidden_layers=layers)
    if hidden is not None and hidden != QWEN3_8B["hidden_size"]:  # a small stand-in, for dry runs
        cfg.update(hidden_size=hidden, intermediate_size=3 * hidden, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=max(8, hidden // 4))
    if vocab is not None:
        cfg["vocab_size"] = vocab
    return cfg


def random_docs(rows: int, seq_len: int, vocab: int, seed: int):
    """Documents of mixed length (a tool-use conversation's spread) filling about `rows` rows,
    each with two assistant turns labelled (about a third of its tokens)."""
    from agentforge.training.sft.tokenize import IGNORE, Encoded

    rng = random.Random(seed)
    docs, total = [], 0
    while total < rows * seq_len * 0.97:
        n = min(seq_len, rng.randint(seq_len // 16, seq_len // 2))
        ids = [rng.randrange(vocab) for _ in range(n)]
        labels = [IGNORE] * n
        for start, end in ((n // 3, n // 2), (5 * n // 6, n)):  # a tool call, then the final answer
            labels[start:end] = ids[start:end]
        docs.append(Encoded(ids, labels))
        total += n
    return docs


def step_flops(cfg: dict, n_layer_params: int, rows) -> dict:
    tokens = sum(len(r.input_ids) for r in rows)
    labelled = sum(sum(label != -100 for label in r.labels[1:]) for r in rows)  # positions whose next token is trained
    pairs = 0
    for r in rows:  # position ids restart at each document
        n = 0
        for p in r.position_ids + [0]:
            if p == 0 and n:
                pairs += n * (n + 1) // 2
                n = 0
            n += 1
    weights = 6 * n_layer_params * tokens
    head = 6 * cfg["hidden_size"] * cfg["vocab_size"] * labelled
    attention = 6 * 2 * cfg["num_hidden_layers"] * cfg["num_attention_heads"] * cfg["head_dim"] * pairs
    return {"tokens": tokens, "labelled": labelled, "weights": weights, "head": head, "attention": attention,
            "total": weights + head + attention}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=4, help="decoder layers kept of Qwen3-8B's 36")
    ap.add_argument("--seq-len", type=int, default=4096, help="tokens per packed row")
    ap.add_argument("--rows", type=int, default=4, help="rows per step (micro-batch)")
    ap.add_argument("--steps", type=int, default=3, help="steps timed, after one warm-up step")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak (looked up for H100/H200/A100)")
    ap.add_argument("--hidden", type=int, help="a smaller hidden size (dry runs); heads and MLP scale with it")
    ap.add_argument("--vocab", type=int, help="a smaller vocabulary (dry runs)")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="recompute layers in backward")
    ap.add_argument("--attn", default="sdpa", help="attention kernel: sdpa (default, as `agent train sft`), "
                    "flash_attention_2 (needs flash-attn; reads packed rows as variable-length sequences)")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = ap.parse_args(argv)

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench/sft_gpu.py needs a CUDA GPU and torch.cuda.is_available() is False here. "
                 "To check the code path on a CPU run: python bench/sft_gpu.py --device cpu --layers 1 --hidden 64")
    peak = args.peak_tflops
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    if args.device == "cuda" and peak is None:
        peak = peak_tflops(device_name)
        if peak is None:
            sys.exit(f"unknown GPU {device_name!r}: give its dense bf16 peak with --peak-tflops (e.g. 312 for A100)")

    from transformers import Qwen3Config, Qwen3ForCausalLM, TrainerCallback, TrainingArguments

    from agentforge.training.sft.data import RowDataset
    from agentforge.training.sft.packing import PackedCollator, pack
    from agentforge.training.sft.trainer import SftTrainer

    cfg = model_config(args.layers, args.hidden, args.vocab)
    torch.manual_seed(0)
    # weights in bf16 on CUDA and bf16 autocast, as `agent train sft` loads and trains a model on one GPU
    # (run.load_model; under FSDP accelerate keeps fp32 shards and gathers them in bf16)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    with torch.device(args.device):
        model = Qwen3ForCausalLM(Qwen3Config(**cfg, attn_implementation=args.attn)).to(dtype)
    n_layer_params = sum(p.numel() for p in model.model.layers.parameters())
    rows = pack(random_docs(args.rows * (args.steps + 1), args.seq_len, cfg["vocab_size"], seed=0), args.seq_len)
    rows = rows[: args.rows * (args.steps + 1)]

    times: list[float] = []
    head_positions = [0]  # rows the LM head projects: the labelled positions only, if the step is ours
    model.lm_head.register_forward_hook(lambda m, inp, out: head_positions.__setitem__(
        0, head_positions[0] + inp[0].shape[:-1].numel()))

    class StepTimer(TrainerCallback):
        def _sync(self):
            if args.device == "cuda":
                torch.cuda.synchronize()

        def on_step_begin(self, *a, **k):
            self._sync()
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            self._sync()
            times.append(time.perf_counter() - self.t0)

    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.rows, gradient_accumulation_steps=1,
            max_steps=args.steps + 1, learning_rate=1e-5, lr_scheduler_type="constant", bf16=args.device == "cuda",
            use_cpu=args.device == "cpu", activation_checkpointing=args.gradient_checkpointing,
            save_strategy="no", eval_strategy="no", report_to=[], logging_steps=1, dataloader_drop_last=True,
            remove_unused_columns=False, disable_tqdm=True, seed=0)
        trainer = SftTrainer(model=model, args=targs, train_dataset=RowDataset(rows),
                             data_collator=PackedCollator(pad_id=0), callbacks=[StepTimer()])
        trainer.train()
    per_step = [step_flops(cfg, n_layer_params, rows[i * args.rows:(i + 1) * args.rows])
                for i in range(args.steps + 1)]
    timed = times[1:]  # the first step pays for allocation and kernel selection
    seconds = sum(timed)
    tokens = sum(f["tokens"] for f in per_step[1:])
    flops = sum(f["total"] for f in per_step[1:])
    result = {"device": device_name, "layers": args.layers, "attn": args.attn, "seq_len": args.seq_len,
              "rows": args.rows,
              "steps": len(timed), "step_s": seconds / len(timed), "tokens_per_s": tokens / seconds,
              "labelled_share": sum(f["labelled"] for f in per_step) / sum(f["tokens"] for f in per_step),
              "tflops": flops / seconds / 1e12, "peak_tflops": peak,
              "mfu": flops / seconds / 1e12 / peak if peak else None,
              "flops_share": {k: sum(f[k] for f in per_step[1:]) / flops for k in ("weights", "head", "attention")},
              "layer_params": n_layer_params,
              "head_positions": head_positions[0], "labelled": sum(f["labelled"] for f in per_step),
              "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else None}
    if args.json:
        print(json.dumps(result))
    else:
        mfu = f"MFU {result['mfu']:.1%} of {peak:.0f} TFLOP/s" if peak else "MFU n/a (no peak on CPU)"
        print(f"{device_name}: Qwen3-8B architecture, {args.layers} layers, {args.rows} x {args.seq_len} tokens/step: "
              f"{result['step_s']:.3f} s/step, {result['tokens_per_s']:,.0f} tokens/s, "
              f"{result['tflops']:.1f} TFLOP/s, {mfu}")
    return result


if __name__ == "__main__":
    main()
