"""The code agent's format-error share and resolved rate on a SWE-bench run (issue 14, "Coding format").

    # 1. run the code agent on the held-out synthesized instances (packages not used for training)
    agent bench swebench -m MODEL -i runs/swe-synth-heldout/instances.jsonl --repos runs/swe-synth-heldout/repos \
        --sandbox bwrap --max-steps 10 --max-tokens 512 --limit 8 --concurrency 1 --run-dir runs/coding-format-MODEL
    # 2. count
    python bench/coding_format.py runs/coding-format-MODEL [--json out.json]

A turn is one model call; a format error is what the loop counts as one
(see agentforge.training.synth.swe.format_report).
"""

from __future__ import annotations

import argparse
import json

from agentforge.training.synth.swe.format_report import coding_format_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="+", help="`agent bench swebench` run directories")
    parser.add_argument("--json", help="also write the reports here")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-instance lines")
    args = parser.parse_args()
    reports = [coding_format_report(d) for d in args.run_dir]
    for r in reports:
        share = "n/a" if r["format_error_share"] is None else f"{100 * r['format_error_share']:.1f}%"
        rate = "n/a" if r["resolved_rate"] is None else f"{100 * r['resolved_rate']:.1f}%"
        print(f"{r['run_dir']}: {r['format_errors']}/{r['turns']} turns are format errors ({share}); "
              f"editor argument errors {r['editor_argument_errors']}; submitted {r['submitted']}/{r['candidates']}; "
              f"resolved {r['resolved']}/{r['graded']} ({rate}); agent status {r['agent_status']}")
        if args.verbose:
            for p in r["per_instance"]:
                print(f"  {p['instance_id']}#{p['sample']}: {p['format_errors']}/{p['turns']} format errors, "
                      f"{p['status']}, {'resolved' if p['resolved'] else 'not resolved'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(reports, f, indent=2)


if __name__ == "__main__":
    main()
