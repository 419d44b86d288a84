"""The one host-git helper (runtime/git.py), on real repositories in tmp_path."""

from __future__ import annotations

import pytest

from agentforge.runtime.git import GitError, git_text, run_git, run_git_async, try_git


class MyError(RuntimeError):
    pass


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    run_git("init", "-q", cwd=path)
    return path


def test_output_and_input(repo):
    sha = git_text("hash-object", "-w", "--stdin", cwd=repo, input="hello\n").strip()
    assert sha == git_text("hash-object", "--stdin", cwd=repo, input=b"hello\n").strip()
    assert run_git("cat-file", "-p", sha, cwd=repo) == b"hello\n"


def test_a_failure_raises_the_callers_error_with_gits_words(repo):
    with pytest.raises(GitError, match=r"git rev-parse --verify nope failed in .*repo: fatal"):
        run_git("rev-parse", "--verify", "nope", cwd=repo)
    with pytest.raises(MyError, match="failed"):
        run_git("rev-parse", "--verify", "nope", cwd=repo, error=MyError)


def test_try_git_answers_none_for_a_failure_whatever_error_was_asked(tmp_path, repo):
    assert try_git("rev-parse", "--show-toplevel", cwd=repo) == str(repo.resolve())
    outside = tmp_path / "plain"
    outside.mkdir()
    assert try_git("rev-parse", "--show-toplevel", cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
                   error=MyError) is None


def test_clean_env_keeps_the_callers_git_variables_out(repo, monkeypatch):
    monkeypatch.setenv("GIT_DIR", "/nonexistent")  # would send every command elsewhere
    with pytest.raises(GitError):
        run_git("rev-parse", "--git-dir", cwd=repo)
    assert git_text("rev-parse", "--git-dir", cwd=repo, clean_env=True).strip() == ".git"


def test_config_comes_before_the_command(repo):
    assert git_text("config", "--get", "x.y", cwd=repo, config=("-c", "x.y=z")).strip() == "z"


async def test_the_async_form(repo):
    assert (await run_git_async("rev-parse", "--is-inside-work-tree", cwd=repo)).strip() == b"true"
