"""Repositories at their base commits, from a local mirror directory or a URL.

A mirror directory holds one git repository per SWE-bench repo, named
`owner__name` (or `owner/name`, with or without `.git`). Clones from it are
local (hard links), so a fresh workspace per evaluation is cheap. Host git only
ever touches the mirror and fresh clones, never a tree a model has written.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path


class RepoUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class RepoSource:
    mirror: Path | None = None  # directory of git repositories
    url: str | None = None  # template, e.g. "https://github.com/{repo}.git"

    def locate(self, repo: str) -> str:
        owner, _, name = repo.partition("/")
        if self.mirror is not None:
            root = Path(self.mirror)
            for candidate in (f"{owner}__{name}", f"{owner}/{name}", name):
                for suffix in ("", ".git"):
                    path = root / f"{candidate}{suffix}"
                    if (path / ".git").exists() or (path / "HEAD").exists():
                        return str(path)
        if self.url:
            return self.url.format(repo=repo, owner=owner, name=name)
        where = f"the mirror {self.mirror} has no {owner}__{name}" if self.mirror else "no mirror was given"
        raise RepoUnavailable(f"cannot get repository {repo}: {where}. Give --repos DIR (git clones named "
                              "owner__name) or --repo-url 'https://github.com/{repo}.git'")

    async def checkout(self, repo: str, commit: str, dest: Path) -> Path:
        """A fresh clone of `repo` at `commit` (detached) in `dest`."""
        source = self.locate(repo)
        dest = Path(dest)
        await _git("clone", "--quiet", "--no-checkout", source, str(dest))
        try:
            await _git("-C", str(dest), "checkout", "--quiet", "--detach", commit)
        except RepoUnavailable:
            # A shallow or partial source may lack the commit: ask for it directly.
            await _git("-C", str(dest), "fetch", "--quiet", "origin", commit)
            await _git("-C", str(dest), "checkout", "--quiet", "--detach", commit)
        return dest


async def _git(*args: str) -> str:
    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-c", "advice.detachedHead=false", *args], capture_output=True,
                              text=True, timeout=1800)

    done = await asyncio.to_thread(run)
    if done.returncode != 0:
        raise RepoUnavailable(f"git {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return done.stdout
