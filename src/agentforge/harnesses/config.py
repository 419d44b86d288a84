"""The settings every harness run has, declared once: the model, how many
candidates of how many tasks, sampling, and the runner's limits. A harness's
config subclasses `RunConfig` and adds only its own fields (or a different
default for one of these).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agentforge.harnesses.runner import RunOptions
from agentforge.runtime.messages import Sampling

# The selectors every harness reports unless its config names others.
DEFAULT_SELECTORS = ("first", "vote", "avg_logprob", "confidence", "lowest_group", "tail", "bottom10", "oracle")
# Runner settings that make two runs comparable; a harness adds its own to these.
RUN_IDENTITY = ("model", "temperature", "top_p", "max_tokens", "top_logprobs", "seed")


@dataclass
class RunConfig:
    model: str = "embedded"  # backend spec (see `agent models`)
    n: int = 1  # candidates per task
    limit: int | None = None  # first tasks only (the harness says of what: per category, per file)
    seed: int = 0  # base seed; every task and candidate derives its own
    temperature: float = 0.7  # the paper's settings
    top_p: float = 0.95
    max_tokens: int = 512  # per model call
    top_logprobs: int = 20  # alternatives per token, for the confidence selectors (0: none)
    concurrency: int = 8  # tasks in flight
    task_timeout: float | None = 900.0  # seconds per attempt before it is recorded as an error
    retries: int = 3  # after a transient model error
    retry_errors: bool = False  # on resume, run again the candidates that ended in an error
    selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SELECTORS))
    # Where the run lives. Not saved in config.json: the directory is where that file is.
    run_dir: str | None = field(default=None, metadata={"saved": False})

    def sampling(self) -> Sampling:
        return Sampling(temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                        logprobs=self.top_logprobs > 0, top_logprobs=self.top_logprobs)

    def run_options(self, progress: bool = True) -> RunOptions:
        return RunOptions(n=self.n, concurrency=self.concurrency, task_timeout=self.task_timeout,
                          retries=self.retries, retry_errors=self.retry_errors, progress=progress)


def saved_settings(config: Any) -> dict[str, Any]:
    """What config.json holds: every field but the unsaved ones (run_dir)."""
    skip = {f.name for f in fields(config) if f.metadata.get("saved", True) is False}
    return {k: v for k, v in asdict(config).items() if k not in skip}
