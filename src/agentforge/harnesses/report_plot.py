"""report.png: accuracy vs N per selector, drawn so that every series can be seen
and noise does not look like a trend.

- Series that coincide (the same value at every k, to the table's 0.1 point)
  become one line labelled with every name it stands for
  ("confidence = tail = bottom10"); pass@1 and pass@k take part too, so a
  selector that never beats one sample is labelled with pass@1.
- The remaining lines have markers of their own and are nudged sideways a
  little (the plot says so), so near-equal lines stay apart.
- The y axis starts at 0, and a band shows the sampling error of an accuracy
  over this many tasks (+-2 standard errors around pass@1): a gap between
  selectors that sits inside the band is within noise.

`plot_spec` decides all of this from the summary (tested on data);
`plot_report` only draws it.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentforge.harnesses.metrics import main_row

MARKERS = "o^vDPX*h<>p8"  # no "s": the pass@k line has the squares
NUDGE = 0.035  # sideways step between neighbouring selector lines, in octaves of N


@dataclass
class Line:
    names: list[str]  # every series this line stands for
    ys: list[float]  # percent, one per k
    xs: list[float]  # k, nudged for selector lines
    kind: str  # "pass@k" | "pass@1" | "selector"
    marker: str = "o"

    @property
    def label(self) -> str:
        text = " = ".join(self.names)
        return "\n".join(textwrap.wrap(text, 34, break_long_words=False, break_on_hyphens=False))


@dataclass
class PlotSpec:
    title: str
    ks: list[int]
    lines: list[Line]
    y_top: float  # the axis runs from 0 to here
    band: tuple[float, float] | None  # pass@1 +- 2 SE, percent
    band_label: str = ""
    notes: list[str] = field(default_factory=list)


def _key(ys: list[float]) -> tuple[float, ...]:
    return tuple(round(y, 1) for y in ys)  # what the table shows: equal there = one line here


def plot_spec(summary: dict[str, Any]) -> PlotSpec:
    name, row = main_row(summary)
    ks = summary["ks"]
    series: dict[str, list[float]] = {"pass@k": [100 * row["pass@k"][str(k)] for k in ks]}
    series["pass@1"] = [100 * row["pass@1"]] * len(ks)
    for s in summary["selectors"]:
        if s != "oracle":  # at every k the oracle estimates pass@k: drawn as that line
            series[s] = [100 * row["selected@k"][s][str(k)] for k in ks]

    groups: dict[tuple[float, ...], list[str]] = {}
    for s, ys in series.items():
        groups.setdefault(_key(ys), []).append(s)
    lines, selector_lines = [], []
    for names in groups.values():
        ys = series[names[0]]
        kind = "pass@k" if "pass@k" in names else "pass@1" if "pass@1" in names else "selector"
        if kind == "pass@k" and "oracle" in summary["selectors"]:
            names = names[:1] + ["oracle"] + names[1:]
        line = Line(names=names, ys=ys, xs=list(map(float, ks)), kind=kind)
        lines.append(line)
        if kind == "selector":
            selector_lines.append(line)
    notes = []
    if len(selector_lines) > 1 and len(ks) > 1:
        for i, line in enumerate(selector_lines):
            shift = 2 ** ((i - (len(selector_lines) - 1) / 2) * NUDGE)
            line.xs = [k * shift for k in ks]
        notes.append("selector points nudged sideways to stay visible")
    for i, line in enumerate(selector_lines):
        line.marker = MARKERS[i % len(MARKERS)]

    tasks = row.get("tasks") or summary.get("tasks") or 0
    band, band_label = None, ""
    if tasks:
        p = row["pass@1"]
        se = 100 * math.sqrt(p * (1 - p) / tasks)
        band = (max(0.0, 100 * p - 2 * se), min(100.0, 100 * p + 2 * se))
        band_label = f"pass@1 ± 2 SE\n(sampling error over {tasks} tasks)"
    top = max([y for line in lines for y in line.ys] + [band[1] if band else 0.0])
    y_top = min(100.0, max(10.0, 10 * math.ceil((top + 3) / 10)))
    title = f"{summary.get('title') or 'report'} - {name}"
    return PlotSpec(title=title, ks=list(ks), lines=lines, y_top=y_top, band=band, band_label=band_label,
                    notes=notes)


def plot_report(summary: dict[str, Any], path: Path) -> str | None:
    """Draw the plot into `path`. Returns None when written, else why not (no matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: matplotlib is not installed (pip install 'agentforge[bench]')"
    spec = plot_spec(summary)
    fig, ax = plt.subplots(figsize=(10, 5.2))
    if spec.band:
        ax.axhspan(*spec.band, color="gray", alpha=0.15, linewidth=0, label=spec.band_label)
    for line in spec.lines:
        if line.kind == "pass@k":
            ax.plot(line.xs, line.ys, "k--", marker="s", label=line.label, zorder=3)
        elif line.kind == "pass@1":
            ax.plot(line.xs, line.ys, color="gray", linestyle=":", marker="|", markersize=10, label=line.label)
        else:
            ax.plot(line.xs, line.ys, marker=line.marker, markersize=6, alpha=0.9, label=line.label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(spec.ks, [str(k) for k in spec.ks])
    ax.set_xlabel("N (candidates sampled)" + (f" · {'; '.join(spec.notes)}" if spec.notes else ""))
    ax.set_ylim(0, spec.y_top)
    ax.set_ylabel("accuracy % (axis from 0)")
    ax.set_title(spec.title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: lines stay visible
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # keeps the legend outside the axes in the file
    plt.close(fig)
    return None
