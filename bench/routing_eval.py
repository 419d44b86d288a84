"""Meta-agent routing on a mixed BFCL task set: each specialist alone, random
per-step switching, the rule / learned / llm policies, and the oracle.

    python bench/routing_eval.py [--limit 8] [--runs runs/routing] [--router bench/routing/router-rule.toml]
        [--e2e learned,rule]

1. Runs every specialist of the router file over all tasks with the real BFCL
   harness (FC mode, n=1; each specialist sets its own tool_choice, grammar,
   system prompt and temperature 0), one resumable run directory each.
2. Splits the tasks train/test by a hash of the task id, learns the learned
   policy on train (runs/routing/learned.json).
3. Offline evaluation on test: every policy's choice scores that specialist's
   recorded result (runs/routing/table.md). The llm policy's meta-agent is the
   same embedded model.
4. End to end: the router itself as the model through the harness on the test
   split, for the policies in --e2e, and whether its accuracy equals the
   offline figure (per task: same decision, same verdict).

The specialists are prompt/sampling variants of ONE base model (the embedded
SmolLM2-135M-Instruct, int8): no trained specialists exist yet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from rich.console import Console

from agentforge.harnesses.bfcl.bench import BfclAttempt, BfclConfig, check_run_dir, load_tasks, write_bfcl_report
from agentforge.harnesses.journal import Journal
from agentforge.harnesses.runner import RunOptions, run_tasks
from agentforge.routing.config import ModelResolver, build_policy, load_router, read_router_spec
from agentforge.routing.evaluate import evaluate, markdown_table
from agentforge.harnesses.routing_examples import load_examples, pass_rates, split_of
from agentforge.routing.learned import fit
from agentforge.models import make_model

CATEGORIES = "simple,multiple,parallel,parallel_multiple,irrelevance,live_simple,live_irrelevance"
BASE = "embedded:int8"
err = Console(stderr=True)


def bfcl_config(label: str, args) -> BfclConfig:
    # tool_choice "auto" in the harness: the specialist (or the router's pick) decides it
    return BfclConfig(model=label, mode="fc", tool_choice="auto", categories=args.categories.split(","), n=1,
                      limit=args.limit, seed=0, temperature=0.0, top_p=1.0, max_tokens=128, top_logprobs=0,
                      constrained=True, concurrency=args.concurrency, task_timeout=1800.0,
                      selectors=["first", "oracle"])


async def run(config: BfclConfig, run_dir: Path, backend, keep: set[str] | None = None) -> float:
    """Run (or resume) the harness on the config's tasks (only `keep` if given); returns seconds."""
    check_run_dir(run_dir, config)
    tasks = [t for t in load_tasks(config) if keep is None or t.id in keep]
    started = time.monotonic()
    await run_tasks(tasks, BfclAttempt(backend, config, run_dir), Journal(run_dir / "journal.jsonl"),
                    RunOptions(n=1, concurrency=config.concurrency, task_timeout=config.task_timeout), err)
    write_bfcl_report(run_dir, config, tasks)
    return time.monotonic() - started


def request_key(messages, tools) -> tuple:
    user = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
    return user, tuple(t.function.name for t in tools or [])


class Recording:
    """Wraps a policy to remember its decision per request."""

    def __init__(self, policy):
        self.policy, self.kind, self.specialists = policy, policy.kind, policy.specialists
        self.decisions: dict[str, str] = {}

    async def choose(self, messages, tools, features):
        decision = await self.policy.choose(messages, tools, features)
        self.decisions[request_key(messages, tools)] = decision.specialist
        return decision


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--router", type=Path, default=Path("bench/routing/router-rule.toml"))
    ap.add_argument("--runs", type=Path, default=Path("runs/routing"))
    ap.add_argument("-c", "--categories", default=CATEGORIES)
    ap.add_argument("--limit", type=int, default=8, help="entries per category (the first ones)")
    ap.add_argument("--test-fraction", type=float, default=0.5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--e2e", default="learned", help="policies to run end to end on the test split ('' for none)")
    ap.add_argument("--no-llm", action="store_true", help="leave the llm policy out of the offline table")
    args = ap.parse_args()

    spec, base_dir = read_router_spec(args.router)
    raw = json.loads(spec.model_dump_json())
    base = await make_model(BASE)
    try:
        # 1. every specialist over all tasks
        router = await load_router(raw, {BASE: base})
        for name, specialist in router.specialists.items():
            seconds = await run(bfcl_config(f"specialist {name} of {BASE}", args), args.runs / name, specialist)
            err.print(f"[bold]{name}[/]: {seconds:.0f} s")
        runs = {name: args.runs / name for name in spec.names}

        # 2. split, learn on train
        examples, notes = load_examples(runs)
        train = [e for e in examples if split_of(e.task_id, args.test_fraction) == "train"]
        test = [e for e in examples if split_of(e.task_id, args.test_fraction) == "test"]
        model = fit([e.features for e in train], [e.outcomes for e in train], spec.names)
        learned_path = args.runs / "learned.json"
        model.save(learned_path)
        err.print(f"{len(train)} train / {len(test)} test tasks; learned policy → {learned_path} "
                  f"(train accuracy {model.training['train_accuracy']:.3f}, oracle {model.training['oracle']:.3f})")

        # 3. offline evaluation on test
        resolver = ModelResolver({BASE: base}, None)
        policies = {spec.policy.kind: await build_policy(spec, base_dir, resolver)}  # the router file's own
        policies["learned"] = await build_policy(read_router_spec({**raw, "policy": {
            "kind": "learned", "file": str(learned_path.resolve())}})[0], base_dir, resolver)
        if not args.no_llm:
            policies["llm"] = await build_policy(read_router_spec({**raw, "policy": {
                "kind": "llm", "model": BASE, "default": getattr(spec.policy, "default", spec.names[0])}})[0], base_dir, resolver)
        started = time.monotonic()
        rows = await evaluate(test, policies)
        err.print(f"offline evaluation: {time.monotonic() - started:.0f} s")
        table = markdown_table(rows)
        header = (f"BFCL v3 FC, categories {args.categories}, first {args.limit} each; {len(examples)} tasks "
                  f"({len(train)} train / {len(test)} test); rows on the test split; specialists = prompt/sampling "
                  f"variants of {BASE} (SmolLM2-135M-Instruct)")
        (args.runs / "table.md").write_text(header + "\n\n" + table + "\n")
        print(header + "\n\n" + table)
        offline = {r.name: r for r in rows}

        # 4. the router end to end through the harness, on the test split
        keep = {e.task_id for e in test}
        for kind in [k for k in args.e2e.split(",") if k]:
            policy = Recording(policies[kind])
            router = await load_router(raw, {BASE: base})
            router.policy = policy
            run_dir = args.runs / f"router-{kind}"
            seconds = await run(bfcl_config(f"router ({kind}) over {BASE} specialists", args), run_dir, router, keep)
            got = pass_rates(run_dir)
            verdicts = {e.task_id: got[e.task_id][1] for e in test if e.task_id in got}
            e2e = sum(verdicts.values()) / len(verdicts)
            # which specialist the offline evaluation chose per task, and what it scored there
            same_choice = same_verdict = 0
            for e in test:
                offline_choice = (await policies[kind].choose(e.messages, e.tools, e.features)).specialist
                same_choice += policy.decisions.get(request_key(e.messages, e.tools)) == offline_choice
                same_verdict += verdicts.get(e.task_id) == e.outcomes[offline_choice]
            line = (f"router ({kind}) end to end on {len(verdicts)} test tasks: {100 * e2e:.1f}% vs offline "
                    f"{100 * offline[kind].accuracy:.1f}%; same decision on {same_choice}/{len(test)}, same verdict "
                    f"as the chosen specialist's own run on {same_verdict}/{len(test)}; {seconds:.0f} s")
            print(line)
            with (args.runs / "table.md").open("a") as f:
                f.write("\n" + line + "\n")
        await resolver.close()
    finally:
        await base.aclose()


if __name__ == "__main__":
    asyncio.run(main())
