"""What to merge and how: our options, checked, as a mergekit configuration.

Conventions are mergekit's (merge_methods/*.py of mergekit 0.1.5):
- linear: Σ w_i θ_i / Σ w_i (normalize, default on). No base model.
- task_arithmetic: θ_base + λ Σ w_i Δ_i with Δ_i = θ_i − θ_base (normalize default off: Σ w_i Δ_i / Σ w_i when on).
- ties: each Δ_i keeps its top `density` fraction by magnitude; the sign of Σ w_i Δ_i elects a sign
  per element; deltas of the other sign are dropped; the rest is averaged (normalize, default on) and
  scaled by λ.
- sce (Select-Calculate-Erase, FuseChat): Select keeps the `select_topk` fraction of elements with the
  largest variance of the Δ_i (among elements whose variance is non-zero); Calculate weights each
  Δ_i by its mean square over the selected elements (w_i ∝ ‖Δ_i‖²_F); Erase drops the elements whose
  sign disagrees with the sign of Σ Δ_i; θ = θ_base + Σ w_i m_i Δ_i / Σ w_i m_i. No per-model weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

METHODS = ("linear", "task_arithmetic", "ties", "sce")
ALIASES = {"task-arithmetic": "task_arithmetic", "ta": "task_arithmetic", "ties-merging": "ties"}

# The options each method takes (anything else given for it is an error, not silently ignored).
OPTIONS = {
    "linear": {"weights", "normalize"},
    "task_arithmetic": {"weights", "normalize", "lambda_"},
    "ties": {"weights", "normalize", "lambda_", "density"},
    "sce": {"select_topk"},
}
FLAGS = {"weights": "--weight", "normalize": "--normalize/--no-normalize", "lambda_": "--lambda",
         "density": "--density", "select_topk": "--select-topk"}
DTYPES = ("float32", "bfloat16", "float16")


class MergeSpecError(ValueError):
    """Options that do not make a merge."""


@dataclass
class MergeSpec:
    method: str
    models: list[Path]
    base: Path | None = None
    weights: list[float] | None = None  # one per model; default 1.0 each
    density: float | None = None  # ties (mergekit default 1.0: no trimming)
    select_topk: float | None = None  # sce (mergekit default 1.0: no selection)
    lambda_: float | None = None  # task_arithmetic, ties (default 1.0)
    normalize: bool | None = None  # linear, ties (default on); task_arithmetic (default off)
    dtype: str | None = None  # of the output; default the base's (else the first model's)

    def __post_init__(self) -> None:
        self.method = ALIASES.get(self.method, self.method)

    def check(self) -> None:
        if self.method not in METHODS:
            raise MergeSpecError(f"unknown merge method {self.method!r}; one of {', '.join(METHODS)}")
        if not self.models:
            raise MergeSpecError("no models to merge: give at least one -m")
        if self.method == "linear":
            if len(self.models) < 2:
                raise MergeSpecError("linear averages models: give at least two -m")
            if self.base is not None:
                raise MergeSpecError("linear averages the -m models and uses no base: drop --base "
                                     "(or give the base as one more -m to average it in)")
        elif self.base is None:
            raise MergeSpecError(f"{self.method} merges task vectors θ_i − θ_base: give the base with --base")
        given = {name for name in FLAGS if getattr(self, name) is not None}
        for name in sorted(given - OPTIONS[self.method]):
            raise MergeSpecError(f"{FLAGS[name]} does not apply to {self.method} "
                                 f"(it takes {', '.join(FLAGS[o] for o in sorted(OPTIONS[self.method])) or 'none'})")
        if self.weights is not None and len(self.weights) != len(self.models):
            raise MergeSpecError(f"{len(self.weights)} --weight for {len(self.models)} models: give one per -m, "
                                 "in the same order")
        for name in ("density", "select_topk"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value <= 1.0:
                raise MergeSpecError(f"{FLAGS[name]} is a fraction in (0, 1], not {value}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise MergeSpecError(f"--dtype {self.dtype!r}: one of {', '.join(DTYPES)}")

    def mergekit_config(self, out_dtype: str) -> dict[str, Any]:
        """The mergekit YAML, as a dict. Sums run in float32 whatever the checkpoints hold."""
        self.check()
        models: list[dict[str, Any]] = []
        for i, model in enumerate(self.models):
            entry: dict[str, Any] = {"model": str(Path(model).resolve())}
            if "weights" in OPTIONS[self.method]:
                entry["parameters"] = {"weight": self.weights[i] if self.weights else 1.0}
                if self.density is not None:
                    entry["parameters"]["density"] = self.density
            models.append(entry)
        parameters: dict[str, Any] = {}
        if self.normalize is not None:
            parameters["normalize"] = self.normalize
        if self.lambda_ is not None:
            parameters["lambda"] = self.lambda_
        if self.select_topk is not None:
            parameters["select_topk"] = self.select_topk
        config: dict[str, Any] = {"merge_method": self.method, "models": models, "dtype": "float32",
                                  "out_dtype": out_dtype}
        if self.method != "linear":
            config["base_model"] = str(Path(self.base).resolve())
        if parameters:
            config["parameters"] = parameters
        return config
