"""Repositories at their base commits, from a local mirror directory or a URL.

A mirror directory holds one git repository per SWE-bench repo, named
`owner__name` (or `owner/name`, with or without `.git`). Host git only ever
touches the mirror and fresh clones, never a tree a model has written.

Clones copy the mirror's objects (`--no-hardlinks`): a hard-linked object file
is the mirror's own file, and root in a sandbox can chmod and overwrite it, which
changes that commit for every later checkout, grading included. Every checkout
is also verified (`verify_checkout`): each object its commit's tree is built
from must hash to its name, so a mirror altered before (say by a version that
still hard-linked) is refused instead of graded.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

from agentforge.runtime.git import run_git, run_git_async


class RepoUnavailable(RuntimeError):
    pass


class RepoCorrupted(RepoUnavailable):
    """The source's objects do not match their names: it was altered after it was fetched."""


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
        """A fresh, verified clone of `repo` at `commit` (detached) in `dest`, sharing no file with the source."""
        source = self.locate(repo)
        dest = Path(dest)
        await _git("clone", "--quiet", "--no-hardlinks", "--no-checkout", source, str(dest))
        try:
            await _git("-C", str(dest), "checkout", "--quiet", "--detach", commit)
        except RepoUnavailable:
            # A shallow or partial source may lack the commit: ask for it directly.
            await _git("-C", str(dest), "fetch", "--quiet", "origin", commit)
            await _git("-C", str(dest), "checkout", "--quiet", "--detach", commit)
        await asyncio.to_thread(verify_checkout, dest, source)
        return dest


def verify_checkout(dest: Path, source: str = "") -> None:
    """Raise RepoCorrupted unless HEAD's commit, and every tree and blob of its tree, hash to their names.

    Git does not check hashes when it reads objects, so an altered object checks
    out silently. This reads each object once (`cat-file --batch`): about a second
    for a repository of Django's size, against minutes of evaluation.
    """
    def git(*args: str, stdin: bytes | None = None) -> bytes:
        return run_git(*args, cwd=dest, input=stdin, error=RepoUnavailable)

    algorithm = git("rev-parse", "--show-object-format").decode().strip() or "sha1"
    head = git("rev-parse", "HEAD").decode().strip()
    names = [head, git("rev-parse", "HEAD^{tree}").decode().strip()]
    for entry in git("ls-tree", "-r", "-t", "-z", "--full-tree", "HEAD").split(b"\0"):
        if entry:
            _mode, kind, name = entry.split(b"\t", 1)[0].split(b" ")
            if kind != b"commit":  # a submodule's commit is not in this repository
                names.append(name.decode())
    names = list(dict.fromkeys(names))
    out = git("cat-file", "--batch", stdin="".join(f"{n}\n" for n in names).encode())
    at = 0
    for name in names:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].split(b" ")
        if len(header) != 3:  # "<name> missing"
            raise RepoCorrupted(f"the checkout of {source or dest} at {head[:12]} lacks object {name}; "
                                "clone that repository into the mirror again")
        _name, kind, size = header
        body = out[header_end + 1:header_end + 1 + int(size)]
        at = header_end + 1 + int(size) + 1
        actual = hashlib.new(algorithm, kind + b" " + size + b"\0" + body).hexdigest()
        if actual != name:
            where = f" from {source}" if source else ""
            raise RepoCorrupted(
                f"the checkout{where} at {head[:12]} is corrupt: object {name} ({kind.decode()}) hashes to "
                f"{actual}, so its content was altered after git stored it (earlier versions hard-linked "
                "clones to the mirror, and a sandboxed command could overwrite them). Nothing was graded; "
                "clone that repository into the mirror again, then rerun with --retry-errors.")


async def _git(*args: str) -> str:
    out = await run_git_async(*args, config=("-c", "advice.detachedHead=false"), timeout=1800, error=RepoUnavailable)
    return out.decode(errors="replace")
