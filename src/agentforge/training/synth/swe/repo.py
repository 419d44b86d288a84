"""The git mirror of a synthesized package: a bare repository per package.

The base commit holds the sdist as published; every kept mutation is a commit
on top of it that changes one file, tagged `agentforge/<instance_id>` so that
nothing garbage-collects it. Commits are built with plumbing (a throw-away
index, never a checkout) and with a fixed author, committer and date, so the
same tree always gives the same commit sha: a re-run reproduces the mirror.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agentforge.runtime.git import GitError, git_text

IDENTITY = {
    "GIT_AUTHOR_NAME": "agentforge", "GIT_AUTHOR_EMAIL": "agentforge@localhost",
    "GIT_COMMITTER_NAME": "agentforge", "GIT_COMMITTER_EMAIL": "agentforge@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
# Config given per command, so neither the user's nor the system's settings change a commit.
_CONFIG = ("-c", "user.name=agentforge", "-c", "user.email=agentforge@localhost", "-c", "core.autocrlf=false",
           "-c", "core.fileMode=true", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false",
           "-c", "tag.gpgSign=false", "-c", "core.excludesFile=/dev/null")


def git(mirror: Path, *args: str, work_tree: Path | None = None, index: Path | None = None,
        input: str | bytes | None = None) -> str:
    """git on the mirror, with nothing from the caller's environment or config changing the result."""
    env = {**IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    config = [*_CONFIG, f"--git-dir={mirror}"]
    if work_tree is not None:
        config.append(f"--work-tree={work_tree}")
    return git_text(*args, config=config, input=input, env=env, clean_env=True)


def init_mirror(path: Path) -> Path:
    """A bare repository at `path` (created if missing), HEAD on `main`."""
    path = Path(path)
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        git_text("init", "--bare", "--quiet", str(path))
        git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    return path


def commit_tree(mirror: Path, tree: Path, message: str, parent: str | None = None) -> str:
    """Commit every file under `tree` (ignore files ignored) and return the commit sha."""
    with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
        index = Path(tmp) / "index"
        git(mirror, "add", "--all", "--force", ".", work_tree=tree, index=index)
        tree_sha = git(mirror, "write-tree", index=index).strip()
    args = ["commit-tree", tree_sha, "-m", message]
    if parent:
        args += ["-p", parent]
    return git(mirror, *args).strip()


def commit_file(mirror: Path, parent: str, path: str, content: str, message: str) -> str:
    """A commit on `parent` whose only change is `path` now holding `content`."""
    listing = git(mirror, "ls-tree", parent, "--", path).split()
    mode = listing[0] if listing else "100644"
    blob = git(mirror, "hash-object", "-w", "--stdin", input=content).strip()
    with tempfile.TemporaryDirectory(prefix="agentforge-index-") as tmp:
        index = Path(tmp) / "index"
        git(mirror, "read-tree", parent, index=index)
        git(mirror, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", index=index)
        tree_sha = git(mirror, "write-tree", index=index).strip()
    return git(mirror, "commit-tree", tree_sha, "-p", parent, "-m", message).strip()


def tag(mirror: Path, name: str, commit: str) -> None:
    git(mirror, "update-ref", f"refs/tags/{name}", commit)


def untag(mirror: Path, name: str) -> None:
    """Remove tag `name` if it exists."""
    if resolve(mirror, f"refs/tags/{name}") is not None:
        git(mirror, "update-ref", "-d", f"refs/tags/{name}")


def set_branch(mirror: Path, name: str, commit: str) -> None:
    git(mirror, "update-ref", f"refs/heads/{name}", commit)


def resolve(mirror: Path, ref: str) -> str | None:
    try:
        return git(mirror, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip() or None
    except GitError:
        return None


def diff(mirror: Path, old: str, new: str, *paths: str) -> str:
    """`git diff old new -- paths`, in the unified format SWE-bench patches use."""
    return git(mirror, "diff", "--no-color", "--no-ext-diff", "--no-renames", old, new, "--", *paths)


def file_at(mirror: Path, commit: str, path: str) -> str:
    return git(mirror, "show", f"{commit}:{path}")
