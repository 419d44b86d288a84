"""DeepConf online early stopping vs plain best-of-N on BFCL, same model, same N.

    python bench/deepconf_online_bfcl.py [-m embedded:int8] [-c simple,multiple] [--limit 10] [-n 8]
        [--warmup 2] [--window 8] [--keep 10] [--consensus 0.95]

For each entry, both arms sample N candidates (FC mode, tool_choice required,
grammar-constrained on the embedded model) and answer with the same
confidence-weighted vote; plain best-of-N keeps all N, early stopping cancels
streams whose last `window` tokens fall below the warm-up threshold. Prints
accuracy (official BFCL checker) and generated tokens per arm, and the ratios.
Arms alternate per entry so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agentforge.harnesses.bfcl.data import load_answers, load_entries
from agentforge.harnesses.bfcl.episodes import setup
from agentforge.harnesses.bfcl.score import score_entry
from agentforge.runtime.backends import make_backend
from agentforge.runtime.messages import Sampling
from agentforge.selectors.candidate import candidates_of
from agentforge.selectors.early_stop import EarlyStop, sample_with_early_stop
from agentforge.selectors.voting import weighted_vote


def correct(category, entry, answer, s, completion) -> bool:
    decoded = s.decode(completion)
    return score_entry(category, entry, answer, decoded.official(), decoded.error).valid


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", default="embedded:int8")
    ap.add_argument("-c", "--categories", default="simple,multiple")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--keep", type=float, default=10.0, help="eta, percent (DeepConf-low 10, -high 90)")
    ap.add_argument("--consensus", type=float, default=None,
                    help="tau: also stop once one answer holds this share of the weighted vote (DeepConf: 0.95)")
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    backend = await make_backend(args.model)
    sampling = Sampling(temperature=0.7, top_p=0.95, max_tokens=args.max_tokens, logprobs=True, top_logprobs=20,
                        tool_choice="required")
    config = EarlyStop(warmup=args.warmup, keep_percent=args.keep, window=args.window, consensus=args.consensus)
    stats = {arm: {"right": 0, "tokens": 0, "seconds": 0.0} for arm in ("best-of-N", "early stop")}
    stopped = total = 0
    work = [(c, e, load_answers(c).get(e["id"])) for c in args.categories.split(",") for e in load_entries(c)[: args.limit]]
    try:
        with Progress(console=Console(stderr=True)) as progress:
            bar = progress.add_task("entries", total=len(work))
            for index, (category, entry, answer) in enumerate(work):
                s = setup(entry, category, "fc", entry["question"][0])
                seeded = sampling.merged(seed=index)
                for arm in (("best-of-N", "early stop") if index % 2 == 0 else ("early stop", "best-of-N")):
                    started = time.monotonic()
                    if arm == "best-of-N":
                        pool = await backend.complete(s.messages, s.tools, args.n, seeded)
                        chosen = pool[weighted_vote(candidates_of(pool), top_percent=1.0)]
                        tokens = sum(c.usage.completion_tokens for c in pool)
                    else:
                        result = await sample_with_early_stop(backend, s.messages, s.tools, args.n, seeded, config)
                        chosen, tokens = result.chosen, result.tokens
                        stopped += result.stopped
                        total += args.n - args.warmup
                    stats[arm]["seconds"] += time.monotonic() - started
                    stats[arm]["right"] += correct(category, entry, answer, s, chosen)
                    stats[arm]["tokens"] += tokens
                progress.advance(bar)
    finally:
        await backend.aclose()
    table = Table(title=f"{args.model} · {args.categories} · {len(work)} entries · N={args.n} · warm-up "
                        f"{args.warmup} · window {args.window} · eta {args.keep:g}%"
                        + (f" · tau {args.consensus:g}" if args.consensus else ""))
    for col in ("arm", "accuracy %", "generated tokens", "tokens vs best-of-N", "seconds"):
        table.add_column(col)
    base = stats["best-of-N"]
    for arm, st in stats.items():
        table.add_row(arm, f"{100 * st['right'] / len(work):.1f}", str(st["tokens"]),
                      f"{st['tokens'] / base['tokens']:.2f}", f"{st['seconds']:.0f}")
    Console().print(table)
    Console().print(f"streams cancelled early: {stopped} of {total}")


if __name__ == "__main__":
    asyncio.run(main())
