"""Git on the host, the one way every module runs it (agent solve's snapshots,
SWE-bench checkouts, the synthesized packages' mirrors, the SFT scripts).

Git inside a sandbox is the sandbox's business (sandbox/base.py); this is for
repositories that agentforge itself made or reads. Every call captures its
output, never waits on a terminal prompt (GIT_TERMINAL_PROMPT=0), has a
timeout, and raises the caller's own error type with git's message in it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

TIMEOUT = 600.0  # seconds; a clone of a large repository may ask for more
MESSAGE_TAIL = 800  # characters of git's stderr kept in an error


class GitError(RuntimeError):
    """A git command failed; the message holds the command and git's own words."""


def _env(env: Mapping[str, str] | None, clean: bool) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not (clean and k.startswith("GIT_"))}
    return {**base, "GIT_TERMINAL_PROMPT": "0", **(env or {})}


def run_git(*args: str, cwd: str | Path | None = None, config: Sequence[str] = (),
            input: bytes | str | None = None, env: Mapping[str, str] | None = None, clean_env: bool = False,
            timeout: float | None = TIMEOUT, error: type[Exception] = GitError) -> bytes:
    """`git [config] args` in `cwd`; its stdout, or `error` (GitError by default) when it fails.

    config: global options that come before the command (`-c key=value`,
    `--git-dir=...`). env: variables added to the environment; clean_env drops
    the caller's GIT_* variables first (so none of them changes what git does).
    """
    data = input.encode() if isinstance(input, str) else input
    where = f" in {cwd}" if cwd is not None else ""
    try:
        done = subprocess.run(["git", *config, *args], cwd=cwd, input=data, capture_output=True,
                              env=_env(env, clean_env), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise error(f"git {' '.join(args)} took over {timeout:g} s{where}") from None
    except FileNotFoundError:
        raise error("git is not installed: install it (e.g. `apt-get install git`)") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()[-MESSAGE_TAIL:]
        raise error(f"git {' '.join(args)} failed{where}: {message}")
    return done.stdout


def git_text(*args: str, **kw) -> str:
    """run_git's output as text (undecodable bytes replaced)."""
    return run_git(*args, **kw).decode(errors="replace")


def try_git(*args: str, **kw) -> str | None:
    """git's output (stripped) when the command succeeds, None when it fails: for questions such
    as "is this a repository?" where failing is an answer."""
    try:
        return git_text(*args, **{**kw, "error": GitError}).strip()
    except GitError:
        return None


async def run_git_async(*args: str, **kw) -> bytes:
    """run_git in a worker thread, so a long clone leaves the event loop free."""
    return await asyncio.to_thread(run_git, *args, **kw)
