"""Our SWE-bench parsers and grading against the official swebench package, on the same raw logs.

    python bench/swebench_official_agreement.py [--generated 20000] [--row-seeds 4]

Runs swebench 5.0.2 (its own venv, built on first use) on generated evaluation
logs (every Python parser; see tests/harnesses/swebench/log_variants.py) and on
logs built from every SWE-bench Verified row's own test ids, and prints how many
differ from ours: in the status map, in whether the log is graded, and in the
resolved verdict. Run it from the repository root.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harnesses.swebench.log_variants import make_cases, make_row_cases  # noqa: E402
from tests.harnesses.swebench.test_official_agreement import (differences, official_verdicts,  # noqa: E402
                                                              our_verdict)
from tests.shared_data import shared_data  # noqa: E402


def compare(cases: list[dict]) -> Counter:
    with tempfile.TemporaryDirectory() as tmp:
        theirs = official_verdicts(cases, Path(tmp))
    counts: Counter = Counter(logs=len(cases))
    for case, official in zip(cases, theirs):
        ours = our_verdict(case)
        counts["differ"] += bool(differences(ours, official))
        counts["resolved differs"] += ours["report"]["resolved"] != official.get("report", {}).get("resolved")
        counts["official resolved"] += bool(official.get("report", {}).get("resolved"))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generated", type=int, default=20000)
    ap.add_argument("--row-seeds", type=int, default=4)
    args = ap.parse_args()
    print("generated logs:", dict(compare(make_cases(args.generated, seed=7))))
    rows = [json.loads(line) for line in shared_data("swebench_verified.jsonl").read_text().splitlines() if line]
    total: Counter = Counter()
    for seed in range(args.row_seeds):
        total += compare(make_row_cases(rows, seed))
    print("Verified rows' own test ids:", dict(total))


if __name__ == "__main__":
    main()
