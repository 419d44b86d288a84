"""A real (tiny) SWE-bench-style instance: a git mirror, a buggy base commit,
a gold patch, a test patch and an official-shape eval script. Used by the
evaluation and harness tests in place of the big official repositories, which
cannot be fetched here."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agentforge.harnesses.swebench.environment import EnvSpec
from agentforge.harnesses.swebench.instances import Instance

CALC = '''def add(a, b):
    return a - b


def mul(a, b):
    return a * b
'''
TESTS = '''from calc import add, mul


def test_mul():
    assert mul(3, 4) == 12
'''
ADD_TEST = '''

def test_add():
    assert add(2, 3) == 5
'''


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def diff_of(repo: Path, path: str, new_text: str) -> str:
    """The git diff that turns the committed `path` into `new_text` (tree left unchanged)."""
    old = (repo / path).read_text()
    (repo / path).write_text(new_text)
    try:
        return git(repo, "diff", "--", path)
    finally:
        (repo / path).write_text(old)


def make_instance(root: Path, instance_id: str = "acme__calc-1") -> tuple[Instance, Path]:
    """Returns (instance, mirror directory)."""
    mirror = root / "mirror"
    repo = mirror / "acme__calc"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(CALC)
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "buggy base")
    base = git(repo, "rev-parse", "HEAD").strip()
    gold = diff_of(repo, "calc.py", CALC.replace("a - b", "a + b"))
    test_patch = diff_of(repo, "tests/test_calc.py", TESTS + ADD_TEST)
    eval_script = f"""#!/bin/bash
set -uxo pipefail
git -c core.fileMode=false diff {base}
git checkout {base} tests/test_calc.py
git apply -v - <<'EOF_TEST_PATCH'
{test_patch}
EOF_TEST_PATCH
: '>>>>> Start Test Output'
python -m pytest -rA -p no:cacheprovider tests/test_calc.py
: '>>>>> End Test Output'
git checkout {base} tests/test_calc.py
"""
    instance = Instance(instance_id=instance_id, repo="acme/calc", base_commit=base, patch=gold,
                        test_patch=test_patch, problem_statement="add(2, 3) returns -1 instead of 5.",
                        FAIL_TO_PASS=["tests/test_calc.py::test_add"], PASS_TO_PASS=["tests/test_calc.py::test_mul"],
                        eval_script=eval_script, log_parser="parse_log_pytest",
                        environment=EnvSpec(pip=["pytest"]))
    return instance, mirror


# Overwrite, in place, the object file that holds calc.py at HEAD with the fixed
# source; then show what git now reads for that commit.
POISON = r"""blob=$(git rev-parse HEAD:calc.py); f=.git/objects/${blob:0:2}/${blob:2}; chmod u+w "$f"
python3 -c "import sys, zlib; d = open('calc.py', 'rb').read().replace(b'a - b', b'a + b'); open(sys.argv[1], 'wb').write(zlib.compress(b'blob %d\0' % len(d) + d))" "$f"
echo "HEAD:calc.py now reads: $(git cat-file -p HEAD:calc.py | head -2 | tail -1)"
"""


def poisoning_agent(seen: list[str]):
    """Step 1 poisons its checkout's object for calc.py; step 2 submits (its patch is empty)."""
    def reply(messages, tools, index):
        if not any(m.role == "assistant" for m in messages):
            return f"THOUGHT: change the commit, not the tree.\n\n```bash\n{POISON}```", []
        seen.append(str(messages[-1].content))
        return "THOUGHT: done.\n\n```bash\necho AGENTFORGE_SUBMIT_PATCH\n```", []

    return reply
