"""Aider's metrics (benchmark.py's summarize_results) and its per-exercise results files.

Over the completed exercises (an exception is completed and not passed), of candidate 0:
  pass_rate_k = 100 * #(final outcome passed at try <= k) / completed   (the leaderboard: pass_rate_2)
  percent_cases_well_formed = 100 * (1 - #exercises with any malformed response / completed)
plus the counts Aider prints, per language and overall. The candidates beyond the first
are scored by the shared report (pass@k, selected@N per selector).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agentforge.harnesses.journal import SampleResult

COUNTS = ("num_error_outputs", "num_user_asks", "num_exhausted_context_windows", "num_malformed_responses",
          "test_timeouts", "syntax_errors", "indentation_errors", "lazy_comments", "prompt_tokens",
          "completion_tokens")
DEVIATIONS = (
    "toolchains: Go 1.21.13 (Aider 1.21.5); the JDK and JUnit 5.9.2 / AssertJ 3.14 from Debian via javac + "
    "the JUnit console launcher (Aider: JDK 21, Gradle, JUnit 5.10, AssertJ 3.25); Rust offline with Debian's "
    "crate sources; Node 20 with one shared node_modules (as Aider)",
    "protocol: Aider HEAD (after 2025-02-06: C++ runs all tests); prompt texts read from aider-chat 0.86.1",
    "lint reflections for Python's compile step only (Aider also runs flake8's fatal codes, and tree-sitter for "
    "the other languages); not reproduced: chat-history summarization, prompt caching",
    "our own malformed-edit messages (Aider's wording is in its code, not its prompt files)",
)


def _results(record: SampleResult) -> dict[str, Any]:
    return record.detail.get("results") or {"exception": record.error or "no result", "tests_outcomes": []}


def _summary(results: list[dict[str, Any]], tries: int) -> dict[str, Any]:
    completed = len(results)
    out: dict[str, Any] = {"completed_tests": completed}
    for k in range(1, tries + 1):
        passed = sum(1 for r in results if r.get("tests_outcomes") and r["tests_outcomes"][-1]
                     and len(r["tests_outcomes"]) <= k)
        out[f"pass_num_{k}"] = passed
        out[f"pass_rate_{k}"] = round(100 * passed / completed, 1) if completed else 0.0
    malformed = sum(1 for r in results if r.get("num_malformed_responses"))
    out["percent_cases_well_formed"] = round(100 * (1 - malformed / completed), 1) if completed else 0.0
    out["exceptions"] = sum(1 for r in results if "exception" in r)
    for key in COUNTS:
        out[key] = sum(int(r.get(key) or 0) for r in results)
    durations = [r.get("duration", 0.0) for r in results]
    out["seconds_per_case"] = round(sum(durations) / completed, 1) if completed else 0.0
    out["total_cost"] = 0.0
    return out


def aider_summary(records: dict[str, list[SampleResult]]) -> dict[str, Any]:
    """summary.json's "aider" block: overall and per language, candidate 0."""
    firsts = [rs[0] for rs in records.values() if rs and rs[0].sample == 0]
    tries = max([len(_results(r).get("tests_outcomes") or []) for r in firsts] + [2])
    by_language: dict[str, list[dict]] = {}
    for r in firsts:
        by_language.setdefault(r.category, []).append(_results(r))
    data = next((_results(r).get("data") for r in firsts if _results(r).get("data")), None)
    return {"aider": {"data": data, "deviations": list(DEVIATIONS),
                      "overall": _summary([_results(r) for r in firsts], tries),
                      "languages": {lang: _summary(rs, tries) for lang, rs in sorted(by_language.items())}}}


def write_results_files(run_dir: Path, records: dict[str, list[SampleResult]]) -> None:
    """polyglot/sample-K/<lang>/exercises/practice/<slug>/.aider.results.json for every candidate,
    rewritten from the journal (so a resumed run's files match its journal), and polyglot/report.txt
    (`aider_table`)."""
    (Path(run_dir) / "polyglot").mkdir(parents=True, exist_ok=True)
    (Path(run_dir) / "polyglot" / "report.txt").write_text(aider_table(aider_summary(records)))
    for task_id, rs in records.items():
        language, slug = task_id.split("/", 1)
        for r in rs:
            folder = Path(run_dir) / "polyglot" / f"sample-{r.sample}" / language / "exercises" / "practice" / slug
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / ".aider.results.json"
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(_results(r), indent=4))
            os.replace(tmp, target)


def aider_table(summary: dict[str, Any]) -> str:
    """Aider's figures per language and overall, with the data's commit and the deviations, as text."""
    block = summary["aider"]
    tries = sorted(int(k.rsplit("_", 1)[1]) for k in block["overall"] if k.startswith("pass_rate_"))
    columns = ["completed_tests", *(f"pass_rate_{k}" for k in tries), "percent_cases_well_formed",
               "num_malformed_responses", "test_timeouts", "exceptions", "seconds_per_case", "prompt_tokens",
               "completion_tokens"]
    heads = ["language", "done", *(f"pass_{k}" for k in tries), "well_formed", "malformed", "timeouts",
             "exceptions", "s/case", "prompt_tok", "compl_tok"]
    rows = [[lang, *(str(s[c]) for c in columns)] for lang, s in block["languages"].items()]
    rows.append(["overall", *(str(block["overall"][c]) for c in columns)])
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
    line = lambda r: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    text = [f"Aider Polyglot, Aider's metrics (candidate 0); data: {block['data']}", "", line(heads),
            *(line(r) for r in rows), "", "Deviations from Aider's own harness:",
            *(f"- {d}" for d in block["deviations"])]
    return "\n".join(text) + "\n"
