"""`agent solve`: the agent works on a snapshot of the repository (never on the
user's working tree or index), and N candidates are selected by tests,
confidence or vote. The model is scripted (tests/fakes/scripted_backend.py via
tests/runtime/coding/scripting.py); commands run in real bwrap sandboxes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agentforge.runtime.coding import SUBMIT_SENTINEL, normalize_patch
from agentforge.runtime.sandbox import Limits
from agentforge.solve import SolveError, choose, detect_test_command, snapshot_repository, solve
from agentforge.cli.solve import solve_command
from tests.runtime.coding.scripting import call, git, make_repo, scripted

FIXED = "    return a + b"
ISSUE = "add(2, 3) returns -1; it should return 5."
LIMITS = Limits(timeout=30, memory_mb=1024, pids=128)


def fingerprint(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (.git included): content hash and modification time."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


@pytest.fixture
def dirty_repo(tmp_path):
    """The buggy repository with uncommitted work: an unstaged edit, a staged new
    file, an untracked file, an ignored file, and a deleted tracked file."""
    repo = make_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "old.txt").write_text("old\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    (repo / "calc.py").write_text((repo / "calc.py").read_text() + "\n\ndef sub(a, b):\n    return a - b\n")
    (repo / "staged.py").write_text("STAGED = True\n")
    git(repo, "add", "staged.py")
    (repo / "notes.txt").write_text("untracked notes\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "old.txt").unlink()
    return repo


def fixer(how: str = "editor"):
    """A scripted agent that looks at the dirty state, fixes add(), checks and submits."""
    edit = (call("str_replace_editor", command="str_replace", path="calc.py",
                 old_str="def add(a, b):\n    return a - b", new_str=f"def add(a, b):\n{FIXED}")
            if how == "editor" else call("bash", command="sed -i '2s/a - b/a + b/' calc.py"))
    return [
        call("bash", command="cat notes.txt staged.py; ls"),
        edit,
        call("bash", command="python3 check_calc.py"),
        call("bash", command=f"echo {SUBMIT_SENTINEL}"),
    ]


def wrong_fix():
    return [call("bash", command="sed -i '2s/a - b/a * b/' calc.py"), call("bash", command=f"echo {SUBMIT_SENTINEL}")]


def no_change():
    return [call("bash", command=f"echo {SUBMIT_SENTINEL}")]


async def test_solve_fixes_on_a_copy_and_leaves_the_repo_untouched(dirty_repo, tmp_path):
    status_before = git(dirty_repo, "status", "--porcelain")  # (git status may refresh the index: first)
    before = fingerprint(dirty_repo)
    backend = scripted(fixer())
    out = tmp_path / "out"
    result = await solve(dirty_repo, ISSUE, backend, action_format="tools", sandbox="bwrap",
                         sandbox_limits=LIMITS, out=out)

    assert fingerprint(dirty_repo) == before  # not one byte or timestamp changed, .git included
    assert git(dirty_repo, "status", "--porcelain") == status_before
    assert result.chosen == 0 and result.candidates[0].status == "submitted"
    # the agent saw the uncommitted state: untracked and staged files, not the deleted or ignored ones
    first = result.candidates[0].result.trajectory.steps[0].observations[0].content
    assert "untracked notes" in first and "STAGED = True" in first
    assert "old.txt" not in first and "debug.log" not in first
    # the patch holds only the agent's change and applies to the user's dirty working tree
    assert "calc.py" in result.patch and "staged.py" not in result.patch and "notes.txt" not in result.patch
    assert f"+{FIXED}" in result.patch
    copy = tmp_path / "copy"
    shutil.copytree(dirty_repo, copy, symlinks=True)
    subprocess.run(["git", "apply", "-"], cwd=copy, input=result.patch.encode(), check=True)
    text = (copy / "calc.py").read_text()
    assert FIXED in text and "def sub(a, b):\n    return a - b" in text
    # outputs
    assert (out / "patch.diff").read_text() == result.patch
    assert json.loads((out / "trajectories" / "0.json").read_text())["metadata"]["coding_status"] == "submitted"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chosen"] == 0 and summary["candidates"][0]["status"] == "submitted"


def test_snapshot_of_a_plain_directory(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("x = 1\n")
    base = snapshot_repository(plain, tmp_path / "snap")
    assert len(base) == 40 and (tmp_path / "snap" / "a.py").read_text() == "x = 1\n"
    assert not (plain / ".git").exists()


async def test_select_tests_picks_the_passing_candidate(dirty_repo, tmp_path):
    # candidate i is sampled with seed 10 + i: 0 breaks add differently, 1 changes nothing, 2 fixes it
    scripts = {10: wrong_fix(), 11: no_change(), 12: fixer()}
    backend = scripted(lambda seed: scripts[seed])
    from agentforge.runtime.messages import Sampling

    result = await solve(dirty_repo, ISSUE, backend, n=3, select="tests", test_cmd="python3 check_calc.py",
                         action_format="tools", sandbox="bwrap", sandbox_limits=LIMITS,
                         sampling=Sampling(temperature=0.7, seed=10), concurrency=3, out=tmp_path / "out")
    assert [r.tests_passed for r in result.candidates] == [False, None, True]
    assert result.chosen == 2 and f"+{FIXED}" in result.patch
    assert "AssertionError" in result.candidates[0].test_output
    assert all(s.logprobs and s.top_logprobs == 20 for _, s in backend.requests)  # confidence breaks ties
    assert choose(result.candidates, "first") == 0  # candidate 0 has a patch too: the tests decided
    assert sorted(p.name for p in (tmp_path / "out" / "trajectories").iterdir()) == ["0.json", "1.json", "2.json"]


async def test_select_vote_pools_equivalent_patches(repo_for_vote):
    # 0 breaks add; 1 and 2 fix it in different ways (editor vs sed) with the same diff
    scripts = {0: wrong_fix(), 1: fixer("editor"), 2: fixer("sed")}
    from agentforge.runtime.messages import Sampling

    result = await solve(repo_for_vote, ISSUE, scripted(lambda seed: scripts[seed]), n=3, select="vote",
                         action_format="tools", sandbox="bwrap", sandbox_limits=LIMITS,
                         sampling=Sampling(seed=0))
    patches = [normalize_patch(r.patch) for r in result.candidates]
    assert patches[1] == patches[2] != patches[0]
    assert result.chosen == 1


@pytest.fixture
def repo_for_vote(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "notes.txt").write_text("n\n")
    (repo / "staged.py").write_text("S = 1\n")
    return repo


def test_detect_test_command(tmp_path):
    assert detect_test_command(tmp_path) is None
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "test_x.py").write_text("")
    assert detect_test_command(tmp_path) == "python3 -m pytest -q"


async def test_select_tests_without_a_test_command_is_an_error(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "main.c").write_text("int main(){}\n")
    with pytest.raises(SolveError, match="--test-cmd"):
        await solve(repo, ISSUE, scripted(no_change()), n=2, select="tests", sandbox="bwrap")


def test_solve_command_prints_the_patch(dirty_repo, tmp_path, monkeypatch):
    import agentforge.runtime.backends as backends

    async def fake_make_backend(spec, **kw):
        assert spec == "scripted-spec"
        return scripted(fixer())

    monkeypatch.setattr(backends, "make_backend", fake_make_backend)
    app = typer.Typer()
    app.command("solve")(solve_command)
    app.command("other")(lambda: None)  # two commands: `solve` stays a subcommand, as in cli.py
    before = fingerprint(dirty_repo)
    issue_file = tmp_path / "issue.md"
    issue_file.write_text(ISSUE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(dirty_repo), "--issue-file", str(issue_file), "-m",
                                      "scripted-spec", "--format", "tools", "--sandbox", "bwrap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (out / "patch.diff").read_text() and f"+{FIXED}" in result.stdout
    assert fingerprint(dirty_repo) == before

    bad = CliRunner().invoke(app, ["solve", str(dirty_repo), "--issue", "x", "--issue-file", str(issue_file)])
    assert bad.exit_code == 1 and "exactly one of --issue" in bad.output


async def test_a_cancelled_solve_saves_each_run_so_far_and_stays_cancelled(tmp_path):
    import asyncio

    from agentforge.cli.solve_progress import Progress

    repo = make_repo(tmp_path / "repo")
    out = tmp_path / "out"
    progress = Progress(2)
    backend = scripted([call("bash", command="sed -i 's/a - b/a + b/' calc.py"), call("bash", command="sleep 0.2")])
    task = asyncio.ensure_future(solve(repo, ISSUE, backend, n=2, select="first", action_format="tools",
                                       sandbox="bwrap", sandbox_limits=LIMITS, concurrency=1, out=out,
                                       progress=progress))
    for _ in range(1200):  # until candidate 0 has run 2 steps (candidate 1 waits for its turn)
        if progress.rows[0]["steps"] >= 2:
            break
        await asyncio.sleep(0.05)
    assert progress.rows[0]["steps"] >= 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # a library caller's cancellation is not turned into an error
        await task

    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["chosen"] is None
    first, second = summary["candidates"]
    assert first["status"] == "interrupted" and first["steps"] >= 2 and first["tokens"] == 5 * first["steps"]
    assert first["trajectory"] == "trajectories/0.json" and (out / first["trajectory"]).exists()
    assert "+    return a + b" in (out / "patches" / "0.diff").read_text()
    assert second == {**second, "status": "not started", "steps": 0, "trajectory": None}
    assert not (out / "patch.diff").exists()  # no selection happened among the two
