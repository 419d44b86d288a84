"""Before/after table (and PNG) of BFCL runs on the SFT evaluation set.

    python bench/sft_bfcl_table.py runs/sft-eval/base-constrained runs/sft-eval/sft-constrained ... \
        [--selector confidence] [--png runs/sft-eval/bfcl_sft.png]

The evaluation set of issue 14: the first 25 entries of simple, multiple,
parallel, parallel_multiple and irrelevance, N=4, FC mode, tool_choice auto.
One row per run and metric: pass@1 and selected@N (Agent Confidence Select by
default) per category, the AST mean of the four call categories, and
irrelevance. Runs over other categories (the held-out check) print whatever
categories they hold.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

AST = ["simple", "multiple", "parallel", "parallel_multiple"]


def load(run: Path) -> tuple[int, dict[str, dict]]:
    summary = json.loads((run / "summary.json").read_text())
    return summary["n"], summary["categories"]


def metrics(n: int, cats: dict[str, dict], selector: str) -> dict[str, dict[str, float]]:
    """{"pass@1": {category: %}, "<selector>@N": {...}, "pass@N": {...}} with an AST mean column."""
    out: dict[str, dict[str, float]] = {}
    for name, pick in (("pass@1", lambda r: r["pass@1"]),
                       (f"{selector}@{n}", lambda r: r["selected@k"][selector][str(n)]),
                       (f"pass@{n}", lambda r: r["pass@N"])):
        values = {c: 100 * pick(r) for c, r in cats.items()}
        if all(c in values for c in AST):
            values["AST mean"] = sum(values[c] for c in AST) / len(AST)
        out[name] = values
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--selector", default="confidence")
    p.add_argument("--png", type=Path, default=None)
    p.add_argument("--tradeoff", type=Path, default=None,
                   help="also plot AST mean against irrelevance (pass@1), one point per run, the target shaded")
    args = p.parse_args()
    table = {run.name: metrics(*load(run), args.selector) for run in args.runs}
    columns: list[str] = []
    for per_metric in table.values():
        for values in per_metric.values():
            columns += [c for c in values if c not in columns]
    order = [c for c in [*AST, "AST mean", "irrelevance"] if c in columns] + \
        [c for c in columns if c not in [*AST, "AST mean", "irrelevance"]]
    print("| run | metric | " + " | ".join(order) + " |")
    print("|---|---|" + "---|" * len(order))
    for run, per_metric in table.items():
        for metric, values in per_metric.items():
            cells = [f"{values[c]:.1f}" if c in values else "" for c in order]
            print(f"| {run} | {metric} | " + " | ".join(cells) + " |")
    if args.png:
        plot(table, order, args.png)
        print(f"plot: {args.png}")
    if args.tradeoff:
        plot_tradeoff(table, args.tradeoff)
        print(f"plot: {args.tradeoff}")


def plot(table: dict[str, dict[str, dict[str, float]]], order: list[str], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric_names = list(next(iter(table.values())))[:2]  # pass@1 and selected@N
    fig, axes = plt.subplots(1, len(metric_names), figsize=(6 * len(metric_names), 4), sharey=True)
    width = 0.8 / len(table)
    for ax, metric in zip(axes, metric_names):
        for i, (run, per_metric) in enumerate(table.items()):
            values = [per_metric.get(metric, {}).get(c, 0.0) for c in order]
            ax.bar([x + i * width for x in range(len(order))], values, width, label=run)
        ax.set_xticks([x + width * (len(table) - 1) / 2 for x in range(len(order))])
        ax.set_xticklabels(order, rotation=30, ha="right")
        ax.set_title(f"BFCL v3 (FC, auto): {metric}")
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)


def plot_tradeoff(table: dict[str, dict[str, dict[str, float]]], png: Path) -> None:
    """Where each run sits between calling (AST) and not calling (irrelevance); issue 14's target box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.axvspan(80, 100, ymin=0.5, ymax=1, color="tab:green", alpha=0.12, label="target (AST >= 50, irrelevance >= 80)")
    markers = "osD^vP*X"
    for i, (run, per_metric) in enumerate(table.items()):
        values = per_metric["pass@1"]
        if "AST mean" in values and "irrelevance" in values:  # a legend, not labels: the points crowd
            ax.plot(values["irrelevance"], values["AST mean"], markers[i % len(markers)], markersize=8,
                    label=f"{run} ({values['AST mean']:.1f}, {values['irrelevance']:.0f})")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("irrelevance pass@1 %")
    ax.set_ylabel("AST mean pass@1 %")
    ax.set_title("BFCL v3: calling against not calling")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    main()
