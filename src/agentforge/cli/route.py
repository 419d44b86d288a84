"""`agent route ...`: learn a routing policy from harness runs, evaluate policies
offline against each specialist, random switching and the oracle, and show
how a router decides on one request (thin: parses, then calls agentforge.routing)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from agentforge.cli.common import consoles, fail

route_app = typer.Typer(help="Meta-agent routing across specialist models: learn, evaluate, decide.",
                        no_args_is_help=True)

RunsOption = Annotated[List[str], typer.Option("--run", help="NAME=RUN_DIR: one specialist's harness run "
                                                              "directory (repeat; all over the same tasks).")]
SplitOption = Annotated[str, typer.Option(help="Tasks to use: train, test or all (split by a hash of the task id).")]
FractionOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of tasks in the test split.")]


def _runs(values: list[str], err) -> dict[str, Path]:
    runs: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            fail(err, f"--run {value!r}: write NAME=RUN_DIR, e.g. --run caller=runs/bfcl-required")
        if name in runs:
            fail(err, f"--run: specialist {name!r} given twice")
        runs[name] = Path(path)
    return runs


def _examples(runs: dict[str, Path], split: str, fraction: float, err):
    from agentforge.routing import RoutingError
    from agentforge.routing.examples import load_examples, split_of

    if split not in ("train", "test", "all"):
        fail(err, f"--split {split!r}: use train, test or all")
    try:
        examples, notes = load_examples(runs)
    except RoutingError as e:
        fail(err, str(e))
    for name, count in notes["left_out"].items():
        err.print(f"[yellow]{count} task(s) of {escape(name)} left out: not in every run[/]")
    chosen = [e for e in examples if split == "all" or split_of(e.task_id, fraction) == split]
    if not chosen:
        fail(err, f"no task in the {split} split ({len(examples)} tasks in all); try --split all")
    return chosen


@route_app.command()
def learn(
    run: RunsOption,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Where to write the learned policy (JSON).")] =
    Path("learned-policy.json"),
    split: SplitOption = "train",
    test_fraction: FractionOption = 0.5,
    l2: Annotated[float, typer.Option(min=0.0, help="L2 penalty on the standardized feature weights.")] = 1.0,
    features: Annotated[Optional[str], typer.Option(help="Comma-separated feature names (default: all).")] = None,
) -> None:
    """Fit the learned policy: per specialist, a logistic regression of passing on request features."""
    from agentforge.routing import RoutingError
    from agentforge.routing.learned import fit

    out, err = consoles()
    runs = _runs(run, err)
    examples = _examples(runs, split, test_fraction, err)
    try:
        model = fit([e.features for e in examples], [e.outcomes for e in examples], list(runs),
                    features.split(",") if features else None, l2)
    except RoutingError as e:
        fail(err, str(e))
    model.training["runs"] = {name: str(path) for name, path in runs.items()}
    model.training["split"] = split
    model.save(out_path)
    table = Table("specialist", "pass rate", "chosen", "strongest weights (standardized features)",
                  title=f"learned on {len(examples)} {split} tasks")
    for name in model.specialists:
        top = sorted(zip(model.features, model.weights[name]), key=lambda fw: -abs(fw[1]))[:4]
        table.add_row(name, f"{model.training['pass_rate'][name]:.3f}", str(model.training["chosen"][name]),
                      ", ".join(f"{f} {w:+.2f}" for f, w in top))
    out.print(table)
    out.print(f"train accuracy {model.training['train_accuracy']:.3f} · oracle {model.training['oracle']:.3f} · "
              f"fallback {model.fallback} → {out_path}")


def _policy_name(path: Path, kind: str, taken: set[str]) -> str:
    name = kind if kind not in taken else f"{kind} ({path.stem})"
    return name if name not in taken else str(path)


@route_app.command("eval")
def evaluate_cmd(
    run: RunsOption,
    router: Annotated[Optional[List[Path]], typer.Option("--router", help="A router file whose policy to "
                                                        "evaluate (repeat).")] = None,
    learned: Annotated[Optional[List[Path]], typer.Option("--learned", help="A learned policy JSON to "
                                                           "evaluate (repeat).")] = None,
    split: SplitOption = "test",
    test_fraction: FractionOption = 0.5,
    markdown: Annotated[bool, typer.Option(help="Print a Markdown table instead.")] = False,
) -> None:
    """Offline evaluation: each specialist alone, random switching, each policy, and the oracle.

    A policy's choice on a task scores that specialist's recorded result; only
    an llm policy calls a model (its meta-agent)."""
    from agentforge.routing import RoutingError
    from agentforge.routing.config import ModelResolver, build_policy, read_router_spec
    from agentforge.routing.evaluate import evaluate, markdown_table
    from agentforge.routing.learned import LearnedPolicy, load_model

    out, err = consoles()
    runs = _runs(run, err)
    examples = _examples(runs, split, test_fraction, err)

    async def go():
        resolver = ModelResolver(None, None)
        try:
            policies = {}
            for path in learned or []:
                model = load_model(path)
                missing = [s for s in model.specialists if s not in runs]
                if missing:
                    raise RoutingError(f"{path}: trained for specialist {missing[0]!r}, which has no --run")
                policies[_policy_name(path, "learned", set(policies))] = LearnedPolicy(model)
            for path in router or []:
                spec, base_dir = read_router_spec(path)
                missing = [s for s in spec.names if s not in runs]
                if missing:
                    raise RoutingError(f"{path}: specialist {missing[0]!r} has no --run {missing[0]}=RUN_DIR")
                policies[_policy_name(path, spec.policy.kind, set(policies))] = await build_policy(
                    spec, base_dir, resolver)
            return await evaluate(examples, policies)
        finally:
            await resolver.close()

    try:
        rows = asyncio.run(go())
    except RoutingError as e:
        fail(err, str(e))
    if markdown:
        out.print(markdown_table(rows), soft_wrap=True)
        return
    categories = sorted({e.category for e in examples})
    table = Table("method", "what", "accuracy %", *categories, "chosen",
                  title=f"routing on {len(examples)} {split} tasks (mean pass rate)")
    for r in rows:
        per = r.per_category()
        table.add_row(r.name, r.note, f"{100 * r.accuracy:.1f}", *(f"{100 * per.get(c, 0):.1f}" for c in categories),
                      ", ".join(f"{k} {v}" for k, v in sorted(r.chosen.items())))
    out.print(table)


@route_app.command()
def decide(
    router: Annotated[Path, typer.Argument(help="A router file (TOML or JSON).")],
    request: Annotated[Path, typer.Argument(help="A chat request as JSON: {\"messages\": [...], \"tools\": [...]}.")],
) -> None:
    """Show the features of one request and which specialist the router's policy picks, and why."""
    from agentforge.routing import RoutingError
    from agentforge.routing.config import ModelResolver, build_policy, read_router_spec
    from agentforge.routing.features import FEATURES, request_features
    from agentforge.runtime.messages import Message, ToolSpec

    out, err = consoles()
    try:
        body = json.loads(request.read_text())
        messages = [Message.model_validate(m) for m in body["messages"]]
        tools = [ToolSpec.model_validate(t) for t in body.get("tools") or []] or None
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(err, f"{request}: not a chat request with messages ({e})")

    async def go():
        spec, base_dir = read_router_spec(router)
        resolver = ModelResolver(None, None)
        try:
            policy = await build_policy(spec, base_dir, resolver)
            features = request_features(messages, tools)
            return features, await policy.choose(messages, tools, features)
        finally:
            await resolver.close()

    try:
        features, decision = asyncio.run(go())
    except RoutingError as e:
        fail(err, str(e))
    table = Table("feature", "value", "meaning")
    for name, value in features.items():
        table.add_row(name, f"{value:g}", FEATURES[name])
    out.print(table)
    out.print(f"→ [bold]{escape(decision.specialist)}[/] ({escape(f'{decision.policy}: {decision.reason}')})")
