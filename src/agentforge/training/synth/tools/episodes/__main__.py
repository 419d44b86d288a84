"""Write episodes as JSONL: python -m agentforge.training.synth.tools.episodes OUT.jsonl [-n N] [--seed S].

Every record is checked (shape, and a replay of its calls) before it is written.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from agentforge.training.synth.tools.episodes import generate_episodes
from agentforge.training.synth.tools.episodes.replay import replay_problems, shape_problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentforge.training.synth.tools.episodes", description=__doc__)
    parser.add_argument("out", type=Path, help="JSONL file to write (replaced if it exists)")
    parser.add_argument("-n", type=int, default=1000, help="number of episodes (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same file")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n must be at least 1")
    envs: Counter = Counter()
    tmp = args.out.with_name(args.out.name + ".tmp")
    with tmp.open("w") as f:
        for record in generate_episodes(random.Random(args.seed), args.n):
            problems = shape_problems(record) + replay_problems(record)
            if problems:  # a bug in a scenario script, never bad luck
                print(f"error: episode {record['meta']['family']} fails its own check: {problems[:3]}", file=sys.stderr)
                return 1
            envs[record["meta"]["env"]] += 1
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(args.out)  # never leave a half-written file under the real name
    print(f"wrote {args.n} episodes to {args.out} ({', '.join(f'{k} {v}' for k, v in sorted(envs.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
