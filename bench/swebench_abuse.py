"""SWE-bench grading under abuse: the attacks of issue 13, point 2, end to end.

    python bench/swebench_abuse.py [--sandbox bwrap|local|docker]

1. Mirror poisoning: grade an empty patch on a tiny instance, run one agent
   candidate (a scripted model: no real model attacks on cue) whose only command
   overwrites, in place, the object file that holds the buggy source in its own
   checkout, then grade the same empty patch again. Before the fix it RESOLVED.
2. Unrunnable rows: `agent bench swebench --source gold` on two official Verified
   rows, which need their docker image: exit code, pass@1, unscored candidates,
   and whether predictions.jsonl kept the gold patches.

Run it from the repository root (it uses the tests' tiny repository and scripted model).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentforge.harnesses.swebench.bench import SweConfig, run_swebench  # noqa: E402
from agentforge.harnesses.swebench.evaluate import evaluate  # noqa: E402
from agentforge.harnesses.swebench.repos import RepoSource  # noqa: E402
from tests.fakes.scripted_backend import ScriptedBackend  # noqa: E402
from tests.harnesses.swebench.tiny_repo import make_instance, poisoning_agent  # noqa: E402


async def mirror_poisoning(sandbox: str, tmp: Path) -> str:
    instance, mirror = make_instance(tmp / "data", instance_id="acme__calc-0")
    repos = RepoSource(mirror=mirror)

    async def empty() -> str:
        try:
            result = await evaluate(instance, "", kind=sandbox, repos=repos)
        except Exception as exc:  # noqa: BLE001 - the fixed code refuses a corrupt mirror
            return f"error ({type(exc).__name__})"
        return "RESOLVED" if result.resolved else "not resolved"

    before = await empty()
    (tmp / "instances.jsonl").write_text(instance.model_dump_json() + "\n")
    seen: list[str] = []
    config = SweConfig(instances=str(tmp / "instances.jsonl"), source="agent", model="scripted",
                       repos=str(mirror), sandbox=sandbox, max_steps=3)
    _, summary = await run_swebench(config, tmp / "run", backend=ScriptedBackend(poisoning_agent(seen)),
                                    progress=False)
    candidate = "RESOLVED" if summary["aggregate"]["overall"]["pass@1"] else "not resolved"
    after = await empty()
    attack = "ran" if seen and "return a + b" in seen[0] else f"did not run ({seen[:1]})"
    return (f"empty patch before: {before}; poisoning candidate ({attack}, empty diff): {candidate}; "
            f"empty patch after: {after}")


def unrunnable_rows(sandbox: str, tmp: Path) -> str:
    verified = ROOT.parent / "shared" / "data" / "swebench_verified.jsonl"
    if not verified.exists():
        verified = Path("/work/shared/data/swebench_verified.jsonl")
    run_dir = tmp / "verified"
    done = subprocess.run([sys.executable, "-c", "from agentforge.cli import app; app()", "bench", "swebench",
                           "-i", str(verified), "--source", "gold", "--limit", "2", "--sandbox", sandbox,
                           "--run-dir", str(run_dir)], capture_output=True, text=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    patches = [json.loads(line)["model_patch"] for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return (f"exit {done.returncode}, pass@1 {summary['aggregate']['overall']['pass@1']}, "
            f"unscored_candidates {summary['unscored_candidates']}, "
            f"gold patches in predictions.jsonl: {sum(bool(p) for p in patches)} of {len(patches)}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sandbox", default="bwrap")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="swebench-abuse-") as tmp:
        print(f"mirror poisoning ({args.sandbox}): {await mirror_poisoning(args.sandbox, Path(tmp))}")
        print(f"unrunnable rows ({args.sandbox}): {unrunnable_rows(args.sandbox, Path(tmp))}")


if __name__ == "__main__":
    asyncio.run(main())
