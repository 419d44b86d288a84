"""The SWE-bench row, its eval script, and the git mirror behind it."""

from __future__ import annotations

import json
import subprocess

from agentforge.harnesses.swebench.instances import Instance
from agentforge.training.synth.swe import repo
from agentforge.training.synth.swe.instance import difficulty, eval_script, make_row, module_name, file_of_test

BASE = "a" * 40


def test_eval_script_has_the_official_shape_without_conda():
    script = eval_script(BASE, ["tests/test_a.py", "tests/test b.py"])
    assert script.splitlines() == [
        "#!/bin/bash",
        "set -uxo pipefail",
        f"git -c core.fileMode=false diff {BASE}",
        f"git checkout {BASE} -- tests/test_a.py 'tests/test b.py'",
        ": '>>>>> Start Test Output'",
        "python -m pytest -rA -p no:cacheprovider --color=no tests/test_a.py 'tests/test b.py'",
        'echo ">>>>> Test Exit Code: $?"',
        ": '>>>>> End Test Output'",
        f"git checkout {BASE} -- tests/test_a.py 'tests/test b.py'",
    ]


def test_names():
    assert module_name("src/pkg/sub/mod.py", "src") == "pkg.sub.mod"
    assert module_name("pkg/__init__.py") == "pkg"
    assert module_name("single.py") == "single"
    assert file_of_test("tests/t.py::A::test_b[x]") == "tests/t.py"
    assert difficulty("--- a\n+++ b\n-x\n+y\n") == "<15 min fix"
    assert difficulty("".join(f"+line{i}\n" for i in range(8))) == "15 min - 1 hour"


def test_row_loads_as_an_instance():
    row = make_row(package="demo", version="1.0", instance="demo-1.0__off_by_one-12345678", base_commit=BASE,
                   setup_commit="b" * 40, patch="diff", problem_statement="broken",
                   fail_to_pass=["tests/t.py::test_a"], pass_to_pass=["tests/t.py::test_b"],
                   test_files=["tests/t.py"], environment={"pip": ["pytest==8.4.2"], "pythonpath": ["."]},
                   created_at="2025-01-01T00:00:00Z")
    assert row["repo"] == "pypi/demo" and row["test_patch"] == "" and row["image"] is None
    assert json.loads(row["FAIL_TO_PASS"]) == ["tests/t.py::test_a"]
    instance = Instance.model_validate(row)
    assert instance.FAIL_TO_PASS == ["tests/t.py::test_a"]
    assert instance.environment.pip == ["pytest==8.4.2"]
    assert instance.eval_script.startswith("#!/bin/bash")


def test_mirror_commits_are_reproducible_and_tagged(tmp_path):
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "m.py").write_text("def f(a):\n    return a < 1\n")
    (tree / ".gitignore").write_text("*.py\n")  # ignore files are ignored: everything is committed
    mirror = repo.init_mirror(tmp_path / "repos" / "pypi__demo")
    base = repo.commit_tree(mirror, tree, "base")
    assert repo.commit_tree(mirror, tree, "base") == base
    buggy = repo.commit_file(mirror, base, "pkg/m.py", "def f(a):\n    return a >= 1\n", "bug")
    repo.tag(mirror, "agentforge/demo-1", buggy)
    assert repo.resolve(mirror, "refs/tags/agentforge/demo-1") == buggy
    assert repo.file_at(mirror, buggy, "pkg/m.py").endswith("a >= 1\n")
    gold = repo.diff(mirror, buggy, base, "pkg/m.py")
    assert "-    return a >= 1\n+    return a < 1\n" in gold

    # the gold patch applies to a clone of the buggy commit and gives back the base tree
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(mirror), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", buggy], check=True)
    subprocess.run(["git", "-C", str(clone), "apply"], input=gold.encode(), check=True)
    assert (clone / "pkg" / "m.py").read_text() == "def f(a):\n    return a < 1\n"
    assert (clone / ".gitignore").exists()

    repo.untag(mirror, "agentforge/demo-1")
    repo.untag(mirror, "agentforge/demo-1")  # already gone: nothing to do
    assert repo.resolve(mirror, "refs/tags/agentforge/demo-1") is None
