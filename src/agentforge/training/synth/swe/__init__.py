"""SWE-smith-style task synthesis: mutate real PyPI packages, keep the bugs their own tests catch.

    from agentforge.training.synth.swe import synthesize
    stats = synthesize(["toolz==1.0.0"], "/var/tmp/swe-synth", kind="bwrap", per_package=10)

Writes `<out>/instances.jsonl` (SWE-bench rows plus an `environment` field) and
`<out>/repos/pypi__<name>` (bare git mirrors holding every buggy commit, tagged).

Names are imported on first use, so that mounting the CLI (`.cli`) does not
import libcst (the `synth` extra) or the harness.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PackageReport": "build", "SynthOptions": "build", "SynthStats": "build", "synthesize": "build",
    "synthesize_async": "build", "DEFAULT_PACKAGES": "sdist", "PackageRef": "sdist",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
