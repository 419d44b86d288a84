"""Where the team's shared data lives: `../shared/data` beside the checkout (the
layout on our machines and in CI), else /work/shared/data, else the directory
named by AGENTFORGE_SHARED_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data(name: str) -> Path:
    candidates = [Path(os.environ["AGENTFORGE_SHARED_DATA"])] if os.environ.get("AGENTFORGE_SHARED_DATA") else []
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for directory in candidates:
        if (directory / name).exists():
            return directory / name
    pytest.fail(f"{name} not found in {', '.join(map(str, candidates))}; set AGENTFORGE_SHARED_DATA")
