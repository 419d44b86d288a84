"""SFT vs RL on held-out procedural tool-use tasks, from one command.

    python bench/rl_eval.py -m runs/sft-stage3/run/final -m runs/rl/main/best/final --episodes 40 \
        --journal runs/rl/eval-journal

Every model runs the same tasks: the "test" split of the procedural
environment (seed 7003: neither the RL training tasks nor the validation
tasks that chose the best checkpoint), one greedy episode per task. Prints
per-kind success with a 95% interval, and the paired difference of each model
against the first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from pathlib import Path


async def score(model: str, tasks, env, max_tokens: int, concurrency: int,
                journal: Path | None) -> dict[str, float]:
    from agentforge.runtime.backends.embedded import EmbeddedBackend
    from agentforge.training.rl.rollout import eval_sampling, task_rewards

    done = {}
    if journal is not None and journal.exists():
        for line in journal.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: that task runs again
                continue
            done[row["task"]] = row["reward"]
    wanted = {t.id for t in tasks}
    if wanted <= done.keys():
        return {tid: done[tid] for tid in wanted}

    def keep(task_id: str, reward: float) -> None:
        with journal.open("a") as f:
            f.write(json.dumps({"task": task_id, "reward": reward}) + "\n")

    backend = EmbeddedBackend.load(model)
    try:
        return await task_rewards(env, tasks, backend, eval_sampling(max_tokens), concurrency,
                                  done=done, on_reward=keep if journal is not None else None)
    finally:
        await backend.aclose()


def journal_of(folder: Path | None, model: str, max_tokens: int, max_calls: int) -> Path | None:
    """One file per model and setting: greedy results are reused by a rerun with more episodes."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    slug = str(Path(model).resolve()).strip("/").replace("/", "_")
    return folder / f"{slug}.tok{max_tokens}.calls{max_calls}.jsonl"


def interval(values: list[float]) -> str:
    n = len(values)
    mean = sum(values) / n
    se = math.sqrt(max(mean * (1 - mean), 1e-12) / n) if set(values) <= {0.0, 1.0} else (
        math.sqrt(sum((v - mean) ** 2 for v in values) / max(1, n - 1) / n))
    return f"{100 * mean:5.1f} ± {196 * se:4.1f}"


LABELS = {"episode": "episode (outcome)", "step": "step (step-wise)", "call": "call (single turn)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", action="append", required=True)
    parser.add_argument("--episodes", type=int, default=40, help="test episodes (each also gives its step tasks); 0: none")
    parser.add_argument("--calls", type=int, default=0,
                        help="also this many single-turn BFCL-shaped records (the 'calls' environment's test split)")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--max-calls", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, help="write the per-task rewards here (JSON)")
    parser.add_argument("--journal", type=Path,
                        help="keep each result in this folder as it lands; a rerun (killed, or with more "
                             "--episodes) reuses them. Keyed by the model's path: evaluate a frozen copy, not a "
                             "folder a run may still rewrite (best/final)")
    args = parser.parse_args()

    from agentforge.training.rl.envs.tool_episodes import ToolEpisodes

    envs = []
    if args.episodes:
        env = ToolEpisodes(episodes=args.episodes, max_calls=args.max_calls)
        envs.append((env, env.tasks("test")))
    if args.calls:
        from agentforge.training.rl.envs.tool_calls import ToolCalls

        env = ToolCalls(records=args.calls)
        envs.append((env, env.tasks("test")))
    kinds = {t.id: t.kind for _, tasks in envs for t in tasks}
    present = [k for k in ("episode", "step", "call") if k in kinds.values()]
    results: dict[str, dict[str, float]] = {}
    for model in args.model:
        started = time.time()
        journal = journal_of(args.journal, model, args.max_tokens, args.max_calls)
        results[model] = {}
        for env, tasks in envs:
            results[model].update(asyncio.run(score(model, tasks, env, args.max_tokens, args.concurrency, journal)))
        print(f"{model}: {len(kinds)} tasks in {time.time() - started:.0f} s", flush=True)
    first = args.model[0]
    print(f"\n{'model':<44}" + "".join(f" {LABELS[k]:>22}" for k in present))
    for model in args.model:
        cells = []
        for kind in present:
            values = [r for tid, r in results[model].items() if kinds[tid] == kind]
            cells.append(f"{interval(values)} (n={len(values)})")
        print(f"{model[-44:]:<44}" + "".join(f" {c:>22}" for c in cells))
    for model in args.model[1:]:
        for kind in present:
            diffs = [results[model][tid] - results[first][tid] for tid in kinds if kinds[tid] == kind]
            print(f"{model[-30:]} - {first[-30:]} [{kind}]: {interval(diffs)} points (paired)")
    if args.out:
        args.out.write_text(json.dumps({"kinds": kinds, "rewards": results}, indent=1))


if __name__ == "__main__":
    main()
