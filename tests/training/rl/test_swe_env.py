"""The SWE environment's reward integrity: the gold fix earns 1, every way of cheating earns 0.

The policy here is a test double (tests/training/rl/scripted.py's `Scripted`:
a Backend that replays fixed assistant turns, no model runs), because the point
is the reward, which must be exact. Each rollout is the real thing otherwise:
the code agent in the bwrap sandbox on a fresh checkout of a tiny instance in
the shape `agent train synth swe` writes (its eval script, its row), graded by
our SWE-bench grading.

Each protection test also runs its cheat with that protection switched off and
requires reward 1 there: the protection, not an accident of the setup, is what
makes the cheat earn 0.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentforge.runtime.coding.actions import SUBMIT_SENTINEL
from agentforge.runtime.messages import Sampling
from agentforge.training.rl.envs.swe import SweInstances

from .scripted import Scripted, completion
from tests.harnesses.swebench.tiny_repo import git

SAMPLING = Sampling(logprobs=True, extra_body={"return_token_ids": True})
CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = ("from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
         "def test_mul():\n    assert mul(3, 4) == 12\n")
FIX = "sed -i 's/a - b/a + b/' calc.py"
F2P = "tests/test_calc.py::test_add"


def make_split(root: Path, eval_script=None) -> Path:
    """A split directory as `agent train synth swe` writes it: instances.jsonl + repos/ (one tiny instance)."""
    from agentforge.training.synth.swe.instance import eval_script as synth_eval_script
    from agentforge.training.synth.swe.instance import make_row

    repo = root / "repos" / "pypi__calc"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(CALC)
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "buggy base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc.py").write_text(CALC.replace("a - b", "a + b"))
    gold = git(repo, "diff")
    git(repo, "checkout", "-q", "--", "calc.py")
    row = make_row(package="calc", version="1.0", instance="calc-1.0__flip-0", base_commit=base, setup_commit=base,
                   patch=gold, problem_statement="add(2, 3) returns -1, the test expects 5.",
                   fail_to_pass=[F2P], pass_to_pass=["tests/test_calc.py::test_mul"],
                   test_files=["tests/test_calc.py"], environment={"pip": ["pytest"]})
    if eval_script is not None:
        row["eval_script"] = eval_script(synth_eval_script(base, ["tests/test_calc.py"]))
    (root / "instances.jsonl").write_text(json.dumps(row) + "\n")
    return root


def agent(*commands: str, submit: bool = True) -> Scripted:
    """Runs `commands`, one per turn, then submits."""
    turns = [f"THOUGHT: step.\n\n```bash\n{c}\n```" for c in commands]
    if submit:
        turns.append(f"THOUGHT: done.\n\n```bash\necho {SUBMIT_SENTINEL}\n```")
    return Scripted(lambda k, messages: completion(turns[min(k, len(turns) - 1)]))


def reward(tmp_path: Path, policy: Scripted, eval_script=None, **env):
    env = SweInstances({"train": make_split(tmp_path / "train", eval_script)}, max_steps=8, **env)
    [task] = env.tasks("train")
    [rollout] = asyncio.run(env.rollout(task, policy, 1, SAMPLING))
    return rollout


def test_the_gold_fix_earns_1_and_every_model_call_is_a_turn(tmp_path):
    rollout = reward(tmp_path, agent(FIX))
    assert rollout.reward == 1.0, rollout.info
    assert not rollout.truncated and rollout.info["status"] == "submitted"
    assert len(rollout.turns) == 2 and all(t.completion_ids == [7, 8] for t in rollout.turns)


def test_a_fix_never_submitted_earns_0_and_is_masked(tmp_path):
    rollout = reward(tmp_path, agent(FIX, "ls", "ls", "ls", "ls", "ls", "ls", "ls", "ls", submit=False))
    assert rollout.info["status"] == "step_limit" and rollout.truncated and rollout.reward == 0.0


def test_submitting_without_a_patch_earns_0(tmp_path):
    rollout = reward(tmp_path, agent("cat calc.py"))
    assert rollout.info["status"] == "submitted" and rollout.info["patch"] == "" and rollout.reward == 0.0


REWRITE_TEST = "sed -i 's/assert add(2, 3) == 5/assert add(2, 3) == -1/' tests/test_calc.py"
DELETE_TEST = ("python3 -c \"import re, pathlib; p = pathlib.Path('tests/test_calc.py'); "
               "p.write_text(re.sub(r'def test_add.*?\\n\\n\\n', '', p.read_text(), flags=re.S))\"")


def no_test_reset(script: str) -> str:
    """The eval script without its `git checkout <base> -- <test files>` lines (the protection off)."""
    return "\n".join(line for line in script.splitlines() if not line.startswith("git checkout"))


@pytest.mark.parametrize("protected", [True, False])
def test_rewriting_the_failing_test_earns_0(tmp_path, protected):
    """The eval script puts the test files back at the base commit before running them."""
    rollout = reward(tmp_path, agent(REWRITE_TEST), eval_script=None if protected else no_test_reset)
    assert "tests/test_calc.py" in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


@pytest.mark.parametrize("protected", [True, False])
def test_deleting_the_failing_test_earns_0(tmp_path, monkeypatch, protected):
    """Two protections: the test files are put back, and a test missing from the log is a failure."""
    if not protected:
        from agentforge.harnesses.swebench import grading

        real = grading.grade
        monkeypatch.setattr(grading, "grade", lambda sm, f2p, p2p, **kw: real(
            {**sm, **{t: "PASSED" for t in f2p if t not in sm}}, f2p, p2p, **kw))
    rollout = reward(tmp_path, agent(DELETE_TEST), eval_script=None if protected else no_test_reset)
    assert "-def test_add" in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info



def test_deleting_the_test_files_earns_0(tmp_path):
    rollout = reward(tmp_path, agent("rm -r tests"))
    assert "deleted file mode" in rollout.info["patch"] and rollout.reward == 0.0, rollout.info

CONFTEST = '''import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
'''
CHEAT_PLUGIN = CONFTEST
PYTEST_INI = "[pytest]\naddopts = -p cheat\n"


def write(path: str, text: str) -> str:
    return f"mkdir -p $(dirname {path}) && cat > {path} <<'EOF'\n{text}EOF"


def grader_files_unguarded(monkeypatch) -> None:
    from agentforge.harnesses.swebench import evaluate

    monkeypatch.setattr(evaluate, "GRADER_FILES", ())


@pytest.mark.parametrize("protected", [True, False])
@pytest.mark.parametrize("where", ["conftest.py", "tests/conftest.py"])
def test_a_conftest_that_turns_failures_into_passes_earns_0(tmp_path, monkeypatch, protected, where):
    """Files the test runner reads besides the tests (conftest.py, its configuration) are put back too."""
    if not protected:
        grader_files_unguarded(monkeypatch)
    rollout = reward(tmp_path, agent(write(where, CONFTEST)))
    assert where in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


@pytest.mark.parametrize("protected", [True, False])
def test_a_pytest_ini_that_loads_a_cheating_plugin_earns_0(tmp_path, monkeypatch, protected):
    if not protected:
        grader_files_unguarded(monkeypatch)
    rollout = reward(tmp_path, agent(write("cheat.py", CHEAT_PLUGIN), write("pytest.ini", PYTEST_INI)))
    assert "pytest.ini" in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


@pytest.mark.parametrize("protected", [True, False])
def test_a_sitecustomize_in_the_workspace_earns_0(tmp_path, monkeypatch, protected):
    """The workspace is on PYTHONPATH, so a sitecustomize.py there runs first in every python process."""
    if not protected:
        grader_files_unguarded(monkeypatch)
    site = "import os\nos.environ['PYTEST_ADDOPTS'] = '-p cheat'\n"
    rollout = reward(tmp_path, agent(write("cheat.py", CHEAT_PLUGIN), write("sitecustomize.py", site)))
    assert "sitecustomize.py" in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


FORGED_RUN = ("import os, sys\nsys.stdout.write('PASSED tests/test_calc.py::test_add\\n"
              "PASSED tests/test_calc.py::test_mul\\n'); sys.stdout.flush(); os._exit(0)\n")


@pytest.mark.parametrize("protected", [True, False])
@pytest.mark.parametrize("module", ["pytest.py", "pytest/__main__.py", "argparse.py"])
def test_a_module_that_shadows_the_test_runner_earns_0(tmp_path, monkeypatch, protected, module):
    """A new module named like one the runner imports (pytest itself, or the standard library's argparse,
    which pytest imports) would run in its place and print any verdict: grading removes it."""
    if not protected:
        from agentforge.harnesses.swebench import evaluate

        monkeypatch.setattr(evaluate, "GUARD_SHADOWING", False)
    commands = [write(module, FORGED_RUN)] + (["touch pytest/__init__.py"] if module.startswith("pytest/") else [])
    rollout = reward(tmp_path, agent(*commands))
    assert module in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


def test_fake_passed_lines_printed_by_the_agent_earn_0(tmp_path):
    """The grader reads only the log of its own fresh evaluation, never what the rollout printed."""
    fake = f"echo 'PASSED {F2P}'; echo '>>>>> Applied Patch'; echo 'resolved: true'"
    rollout = reward(tmp_path, agent(fake, "echo '# all tests PASSED' >> README"))
    assert rollout.info["status"] == "submitted" and rollout.reward == 0.0, rollout.info


@pytest.mark.parametrize("protected", [True, False])
@pytest.mark.parametrize("exit_code", ["kept", "forced to 0"])
def test_fake_passed_lines_printed_by_the_patched_code_earn_0(tmp_path, monkeypatch, protected, exit_code):
    """The code prints `PASSED <test>` at exit, after pytest's own summary, so that the whole log's map
    (the last line wins) says the test passed. Two protections: the test command exited 1 with no failure
    reported (grading refuses the log), and, when the code also forces exit code 0, the log reports the
    test failing and then passing (evaluate's contradiction check). Off: the checks that would catch it."""
    from agentforge.harnesses.swebench import evaluate, grading

    if not protected:
        import re

        monkeypatch.setattr(evaluate, "CHECK_CONTRADICTIONS", False)
        if exit_code == "kept":
            monkeypatch.setattr(grading, "_EXIT_CODE", re.compile("(?!x)x"))
    exit0 = "    sys.stdout.flush()\n    os._exit(0)\n" if exit_code == "forced to 0" else ""
    fake = f"import atexit, os, sys\n\n\n@atexit.register\ndef _fake():\n    print('PASSED {F2P}')\n{exit0}"
    rollout = reward(tmp_path, agent(f"cat >> calc.py <<'EOF'\n{fake}EOF"))
    assert "atexit" in rollout.info["patch"]
    assert rollout.reward == (0.0 if protected else 1.0), rollout.info


IN_PROCESS_FORGERY = """
import sys as _sys
if "_pytest.reports" in _sys.modules:
    _reports = _sys.modules["_pytest.reports"]
    _made = _reports.TestReport.from_item_and_call.__func__

    def _passed(cls, item, call):
        report = _made(cls, item, call)
        report.outcome, report.longrepr = "passed", None
        return report

    _reports.TestReport.from_item_and_call = classmethod(_passed)
"""


@pytest.mark.xfail(strict=True, reason="known hole: the patched code runs inside the test process and can "
                                       "rewrite pytest's reports; no grading of that process's output rules "
                                       "it out (docs/training.md, reward integrity)")
def test_patched_code_that_rewrites_pytest_reports_in_process_earns_0(tmp_path):
    rollout = reward(tmp_path, agent(f"cat >> calc.py <<'EOF'\n{IN_PROCESS_FORGERY}EOF"))
    assert rollout.reward == 0.0, rollout.info


def test_writing_outside_the_workspace_is_blocked_and_earns_0(tmp_path):
    """Outside the workspace: a host path, and the environment's venv, which grading imports from
    (a .pth file there runs at every python start). bwrap shows neither as writable."""
    from agentforge.harnesses.swebench.environment import EnvSpec, build_env

    outside = tmp_path / "outside.txt"
    env = asyncio.run(build_env(EnvSpec(pip=["pytest"]), "bwrap"))
    pths = sorted(p.name for p in env.path.rglob("*.pth"))
    pth = "import builtins; builtins.__dict__.setdefault('CHEATED', 1)"
    commands = (f"echo fixed > {outside}",
                f"for d in /agentforge/env/lib/python3*/site-packages; do echo {json.dumps(pth)} > $d/cheat.pth; done",
                f"{FIX} && cp calc.py {tmp_path}/calc.py",
                "git checkout calc.py")
    rollout = reward(tmp_path, agent(*commands))
    assert not outside.exists() and not (tmp_path / "calc.py").exists()
    assert sorted(p.name for p in env.path.rglob("*.pth")) == pths
    assert rollout.info["patch"] == "" and rollout.reward == 0.0


def test_without_the_sandbox_the_same_writes_land_outside(tmp_path):
    """The protection off: the `local` sandbox (no isolation) lets the host-path writes through."""
    outside = tmp_path / "outside.txt"
    rollout = reward(tmp_path, agent(f"echo fixed > {outside}", f"{FIX} && cp calc.py {tmp_path}/calc.py",
                                     "git checkout calc.py"), sandbox="local")
    assert outside.exists() and (tmp_path / "calc.py").exists() and rollout.reward == 0.0
