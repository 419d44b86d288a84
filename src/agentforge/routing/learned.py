"""The learned policy: per-specialist logistic regression on request features.

From harness results (every specialist run on the same tasks), one model per
specialist predicts the chance that it passes a task given the request's
features; the router picks the specialist with the highest predicted chance.
Ties (equal chances, e.g. a request unlike anything seen) go to the fallback:
the specialist with the best pass rate in training.

Small and inspectable on purpose: features are standardized with the training
mean and deviation, the fit is Newton's method on the L2-regularized logistic
loss (numpy only), and the saved JSON holds everything needed to recompute a
decision by hand: feature names, mean, scale, weights, bias, and training
statistics. Targets may be fractions (a task's pass rate over several samples).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from agentforge.routing.features import FEATURES
from agentforge.routing.policy import Decision, RoutingError

FORMAT = 1
TIE = 1e-9
BIAS_L2 = 1e-2  # a whisper of regularization on the bias, so a specialist that always (or never) passes stays finite


@dataclass
class LearnedModel:
    specialists: list[str]
    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: dict[str, list[float]]
    bias: dict[str, float]
    fallback: str
    l2: float
    training: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        z = [(features.get(f, 0.0) - m) / s for f, m, s in zip(self.features, self.mean, self.scale)]
        out = {}
        for name in self.specialists:
            logit = self.bias[name] + sum(w * x for w, x in zip(self.weights[name], z))
            out[name] = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"kind": "learned", "format": FORMAT, **asdict(self)}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")


def load_model(source: str | Path | dict) -> LearnedModel:
    """A learned model from its JSON file (or the parsed dict); clear errors for anything else."""
    where = str(source) if not isinstance(source, dict) else "learned policy"
    if isinstance(source, dict):
        raw = source
    else:
        try:
            raw = json.loads(Path(source).read_text())
        except FileNotFoundError:
            raise RoutingError(f"{where}: no such file (write one with `agent route learn`)") from None
        except json.JSONDecodeError as e:
            raise RoutingError(f"{where}: not JSON ({e})") from None
    if not isinstance(raw, dict) or raw.get("kind") != "learned":
        raise RoutingError(f"{where}: not a learned policy (expected \"kind\": \"learned\"; "
                           "write one with `agent route learn`)")
    if raw.get("format") != FORMAT:
        raise RoutingError(f"{where}: format {raw.get('format')!r}, this version reads format {FORMAT}")
    try:
        model = LearnedModel(**{k: raw[k] for k in LearnedModel.__dataclass_fields__ if k in raw})
    except TypeError as e:
        raise RoutingError(f"{where}: incomplete learned policy ({e})") from None
    unknown = [f for f in model.features if f not in FEATURES]
    if unknown:
        raise RoutingError(f"{where}: unknown feature {unknown[0]!r} (made by another version?)")
    width = len(model.features)
    if len(model.mean) != width or len(model.scale) != width or set(model.weights) != set(model.specialists) \
            or any(len(w) != width for w in model.weights.values()) or set(model.bias) != set(model.specialists):
        raise RoutingError(f"{where}: weights do not match the feature and specialist lists")
    if model.fallback not in model.specialists:
        raise RoutingError(f"{where}: fallback {model.fallback!r} is not a specialist")
    return model


def _logistic(x, y, l2: float, iterations: int = 100):
    """Newton's method on sum(cross-entropy) + l2/2 |w|^2 (+ BIAS_L2/2 b^2); x has a leading ones column."""
    import numpy as np

    theta = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = BIAS_L2
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -60, 60)))
        grad = x.T @ (p - y) + penalty * theta
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta


def fit(rows: Sequence[dict[str, float]], outcomes: Sequence[dict[str, float]], specialists: Sequence[str],
        features: Sequence[str] | None = None, l2: float = 1.0) -> LearnedModel:
    """Fit one model per specialist. `rows[i]` are request features, `outcomes[i][s]`
    the pass rate (0..1) of specialist s on that task."""
    import numpy as np

    features = list(features or FEATURES)
    if not rows:
        raise RoutingError("no training examples: the runs share no finished task")
    if len(rows) != len(outcomes):
        raise ValueError("rows and outcomes differ in length")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise RoutingError(f"unknown feature {unknown[0]!r}; features: {', '.join(FEATURES)}")
    raw = np.array([[r[f] for f in features] for r in rows], dtype=float)
    mean = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale < 1e-12] = 1.0  # a constant feature carries nothing; keep it harmless
    x = np.hstack([np.ones((len(rows), 1)), (raw - mean) / scale])
    weights, bias, pass_rate = {}, {}, {}
    for name in specialists:
        y = np.array([o[name] for o in outcomes], dtype=float)
        theta = _logistic(x, y, l2)
        bias[name], weights[name] = float(theta[0]), [round(float(w), 6) for w in theta[1:]]
        pass_rate[name] = float(y.mean())
    fallback = max(specialists, key=lambda s: (pass_rate[s], -list(specialists).index(s)))
    model = LearnedModel(list(specialists), features, [round(float(m), 6) for m in mean],
                         [round(float(s), 6) for s in scale], weights, {k: round(v, 6) for k, v in bias.items()},
                         fallback, l2)
    chosen = [pick(model, r)[0] for r in rows]
    model.training = {
        "examples": len(rows),
        "pass_rate": {k: round(v, 4) for k, v in pass_rate.items()},
        "train_accuracy": round(sum(o[c] for o, c in zip(outcomes, chosen)) / len(rows), 4),
        "oracle": round(sum(max(o.values()) for o in outcomes) / len(rows), 4),
        "chosen": {s: chosen.count(s) for s in specialists},
    }
    return model


def pick(model: LearnedModel, features: dict[str, float]) -> tuple[str, dict[str, float], bool]:
    """(specialist, probabilities, tie) for one request."""
    probs = model.probabilities(features)
    best = max(probs.values())
    top = [s for s in model.specialists if best - probs[s] <= TIE]
    if len(top) == 1:
        return top[0], probs, False
    return (model.fallback if model.fallback in top else top[0]), probs, True


class LearnedPolicy:
    kind = "learned"

    def __init__(self, model: LearnedModel, specialists: Sequence[str] | None = None):
        if specialists is not None:
            missing = [s for s in model.specialists if s not in specialists]
            if missing:
                raise RoutingError(f"learned policy: it was trained for specialist {missing[0]!r}, which the "
                                   f"router does not define (it has {', '.join(specialists)})")
        self.model, self.specialists = model, tuple(model.specialists)

    async def choose(self, messages, tools, features) -> Decision:
        name, probs, tie = pick(self.model, features)
        shown = ", ".join(f"{s} {p:.2f}" for s, p in sorted(probs.items(), key=lambda kv: -kv[1]))
        reason = f"predicted pass chance: {shown}" + (f" (tie: fallback {name})" if tie else "")
        return Decision(name, self.kind, reason, {"p": {s: round(p, 4) for s, p in probs.items()}})
