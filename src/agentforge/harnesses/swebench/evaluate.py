"""Evaluate one patch on one instance, the way the official harness does.

Fresh checkout at the base commit → apply the model patch (git apply, then
--3way, then --reject, then `patch --fuzz=5`) → the instance's eval script
(resets the test files, applies the test patch, runs the tests between the
output markers) → parse the log with the instance's parser → FAIL_TO_PASS all
pass and PASS_TO_PASS all still pass = resolved.

Instances with an `environment` run in our sandboxes (bwrap, docker, local) on
a cached venv; official rows without one need their official docker image.
"""

from __future__ import annotations

import re
import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.harnesses.swebench.environment import EnvHandle, build_env, env_sandbox
from agentforge.harnesses.swebench.grading import (APPLY_PATCH_FAIL, APPLY_PATCH_PASS, TESTS_TIMEOUT, Grade,
                                                 contradicted, grade_log)
from agentforge.harnesses.swebench.instances import Instance
from agentforge.harnesses.swebench.repos import RepoSource
from agentforge.runtime.sandbox import Limits, Mount, SandboxSpec, make_sandbox, resolve_kind

EVAL_DIR = "/agentforge/eval"  # patch and eval script, mounted read-only
# The official harness's attempts, in its order (swebench 5.0.2, run_evaluation.GIT_APPLY_CMDS).
APPLY_COMMANDS = ("git apply --verbose", "git apply --verbose --3way", "git apply --verbose --reject",
                  "patch --batch --forward --fuzz=5 -p1 -i")
LOG_CHARS = 50_000_000  # eval logs are read whole
# Files the test run reads besides the tests, which the eval script puts back itself: pytest's conftest.py
# and configuration (addopts can load any plugin), and the sitecustomize a python on PYTHONPATH imports
# first. A patch could make failing tests pass through them, so after it applies they go back to the
# base commit (new ones are removed). Not official: 1 of SWE-bench Verified's 500 gold patches touches one
# (pylint-dev__pylint-4661, setup.cfg's dependencies, which the prebuilt environment already has).
GRADER_FILES = ("conftest.py", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml",
                "sitecustomize.py", "usercustomize.py")
# The same for the test runner itself: a module the patch adds at the top of the import path (the
# workspace, PYTHONPATH's dirs) under the name of an installed or standard module (pytest.py, pluggy/,
# argparse.py) shadows it in the test process, which can then print any verdict. Such files are removed.
GUARD_SHADOWING = True
# And a test the log reports failing and then passing (code printing `PASSED <test>` at exit) is not
# resolved: grading.contradicted. Only on the instances our sandboxes run (official rows grade officially).
CHECK_CONTRADICTIONS = True
_SHADOWS = r"""
import importlib.util, os, sys
added, base = (open(p).read().splitlines() for p in sys.argv[1:3])
roots = {"."} | {os.path.relpath(r) for r in sys.argv[3].split(":") if r}
for root in sorted(roots):
    under = lambda f: f if root == "." else (f[len(root) + 1:] if f.startswith(root + "/") else None)
    known = {under(f).split("/")[0] for f in base if under(f)}
    for f in added:
        rel = under(f)
        if not rel or rel.split("/")[0] in known:
            continue
        top = rel.split("/")[0]
        name = top[:-3] if "/" not in rel and top.endswith(".py") else top
        try:
            found = name.isidentifier() and importlib.util.find_spec(name) is not None
        except Exception:
            found = False
        if found:
            print(f)
"""


class Unrunnable(RuntimeError):
    """This instance cannot be evaluated here: an error to report, never a graded failure."""


@dataclass
class EvalResult:
    instance_id: str
    resolved: bool
    grade: Grade | None = None
    applied: str | None = None  # the command that applied the patch; None = empty patch or failure
    empty_patch: bool = False
    error: str | None = None  # why there is no grade (patch failed, timeout, infrastructure)
    log: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def detail(self) -> dict:
        return {"applied": self.applied, "empty_patch": self.empty_patch, "error": self.error,
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "grade": self.grade.model_dump() if self.grade else None}


def apply_section(patch_path: str) -> str:
    """Shell that applies the model patch the way the official harness does, printing its markers.

    Between tries the tree goes back to pristine (officially `git checkout -- .;
    git clean -fd`; we reset the index too, which a conflicted --3way needs).
    If every try fails but the patch turns out applied already (`git apply
    --check --reverse`), that counts as applied, as officially.
    """
    tries = " ".join(shlex.quote(c) for c in APPLY_COMMANDS)
    return f"""
applied=""
if [ -s {patch_path} ]; then
  first=1
  for cmd in {tries}; do
    if [ -z "$first" ]; then git reset -q --hard; git clean -fdq; fi
    first=""
    if $cmd {patch_path}; then applied="$cmd"; break; fi
  done
  if [ -z "$applied" ] && git apply --check --reverse {patch_path} 2>/dev/null; then applied="already applied"; fi
  if [ -z "$applied" ]; then echo "{APPLY_PATCH_FAIL}"; exit 1; fi
  echo "{APPLY_PATCH_PASS} ($applied)"
fi
"""


def guard_section(base_commit: str) -> tuple[str, str]:
    """Shell (before, after the patch applies) that puts every GRADER_FILES file at any depth back as it
    was at `base_commit`, and removes the ones the patch added (files untracked before it stay)."""
    if not GRADER_FILES:
        return "", ""
    names = shlex.quote("(^|/)(" + "|".join(re.escape(n) for n in GRADER_FILES) + ")$")
    base = shlex.quote(base_commit)
    before = 'untracked_before=$(mktemp); git ls-files --others > "$untracked_before"\n'
    shadowing = "" if not GUARD_SHADOWING else f"""
added=$(mktemp); base_files=$(mktemp)
git ls-tree -r --name-only {base} > "$base_files" 2>/dev/null
{{ git ls-files --others | grep -vxF -f "$untracked_before"; git ls-files --cached | grep -vxF -f "$base_files"; }} \\
  2>/dev/null | sort -u > "$added"
py=$(command -v python3 || command -v python)
if [ -s "$added" ] && [ -n "$py" ]; then
  "$py" -I -c {shlex.quote(_SHADOWS)} "$added" "$base_files" "${{PYTHONPATH:-}}" | while IFS= read -r f; do
    rm -f -- "$f"
  done
fi
"""
    after = shadowing + f"""
{{ git ls-tree -r --name-only {base}; git ls-files --cached; git ls-files --others | grep -vxF -f "$untracked_before"; }} \\
  2>/dev/null | grep -E {names} | sort -u | while IFS= read -r f; do
  if git cat-file -e {base}:"$f" 2>/dev/null; then git checkout -q {base} -- "$f"; else rm -f -- "$f"; fi
done
"""
    return before, after


def _applied_with(log: str) -> str | None:
    for line in log.splitlines():
        if line.startswith(APPLY_PATCH_PASS + " ("):
            return line[len(APPLY_PATCH_PASS) + 2:-1]
    return None


async def evaluate(instance: Instance, patch: str, *, kind: str = "auto", repos: RepoSource | None = None,
                   env: EnvHandle | None = None, timeout: float = 1800.0, log=None) -> EvalResult:
    """Grade `patch` on `instance`. Never raises for a bad patch or failing tests; raises when the
    instance cannot be evaluated at all (Unrunnable, RepoUnavailable, SandboxError): nothing was graded."""
    kind = resolve_kind(kind)
    seconds: dict[str, float] = {}
    empty = not patch.strip()
    if not instance.eval_script:
        raise Unrunnable(f"{instance.instance_id} has no eval_script: use the SWE-bench rows that carry one")
    with tempfile.TemporaryDirectory(prefix="agentforge-eval-") as tmp:
        tmp_path = Path(tmp)
        files = tmp_path / "eval"
        files.mkdir()
        (files / "model.patch").write_text(patch if not empty else "")
        (files / "eval.sh").write_text(instance.eval_script)
        limits = Limits(timeout=timeout, memory_mb=8192, pids=4096, output_chars=LOG_CHARS)
        started = time.monotonic()
        if instance.environment is None:
            box = _official_image_sandbox(instance, kind, tmp_path, files, limits)
            inside = EVAL_DIR
        else:
            env = env or await build_env(instance.environment, kind, log=log)
            seconds["env"] = time.monotonic() - started
            started = time.monotonic()
            workspace = await (repos or RepoSource()).checkout(instance.repo, instance.base_commit,
                                                                tmp_path / "repo")
            seconds["checkout"] = time.monotonic() - started
            mounts = [] if kind == "local" else [Mount(files, EVAL_DIR)]
            box = env_sandbox(kind, workspace, env, limits, mounts=mounts)
            inside = str(files) if kind == "local" else EVAL_DIR
        started = time.monotonic()
        async with box:
            before, after = guard_section(instance.base_commit)
            result = await box.exec(before + apply_section(f"{inside}/model.patch") + after
                                    + f"\nbash {inside}/eval.sh\n")
        seconds["eval"] = time.monotonic() - started
    output = result.output
    if result.timed_out:
        output += f"\n{TESTS_TIMEOUT}\n"
        return EvalResult(instance.instance_id, False, empty_patch=empty, log=output, seconds=seconds,
                          error=f"tests timed out after {timeout:g} s")
    if APPLY_PATCH_FAIL in output:
        return EvalResult(instance.instance_id, False, empty_patch=empty, log=output, seconds=seconds,
                          error="the patch did not apply")
    grade = grade_log(output, instance.row())
    if CHECK_CONTRADICTIONS and instance.environment is not None and grade.resolved:
        both = contradicted(output, instance.row())
        if both:
            grade = grade.model_copy(update=dict(resolved=False, status="resolved_no", log_error=(
                f"the log reports {', '.join(both[:3])} both failing and, later, passing")))
    return EvalResult(instance.instance_id, grade.resolved, grade=grade, applied=_applied_with(output),
                      empty_patch=empty, log=output, seconds=seconds, error=grade.log_error or result.error)


def _official_image_sandbox(instance: Instance, kind: str, tmp: Path, files: Path, limits: Limits):
    """Official rows: their eval script expects the official image (/testbed, conda env 'testbed')."""
    if kind != "docker":
        raise Unrunnable(f"{instance.instance_id} has no `environment`: official SWE-bench rows run only in "
                           "their official docker image (--sandbox docker, with a reachable registry)")
    scratch = tmp / "scratch"
    scratch.mkdir()
    # The official harness gives these containers the network; so do we, to grade alike.
    return make_sandbox("docker", SandboxSpec(workspace=scratch, limits=limits, image=instance.official_image(),
                                              mounts=[Mount(files, EVAL_DIR)], writable_root=True,
                                              workdir="/testbed", network=True))
