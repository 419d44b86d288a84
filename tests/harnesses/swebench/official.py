"""The official `swebench` package (5.0.2, the version we grade like), in its own venv:
it pins things we don't. Built on first use from PyPI, then cached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OFFICIAL_VENV = Path.home() / ".cache" / "agentforge" / "swebench-official-venv"
OFFICIAL_VERSION = "5.0.2"


def official_python() -> str:
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"swebench=={OFFICIAL_VERSION}"], check=True)
    return str(python)
