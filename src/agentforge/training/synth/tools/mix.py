"""The shape mix: which share of the records each shape gets."""

from __future__ import annotations

SHAPES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevant", "missing", "session", "multi_turn")

# Every BFCL AST category gets a share, the parallel ones more (the probe reached only
# 16% and 10% there); `irrelevant` is large because knowing when not to call is what
# a small model loses first (the probe fell to 32%). `missing` stays small: BFCL's
# single-turn entries always state their values, so asking back must stay rare.
DEFAULT_MIX: dict[str, float] = {
    "simple": 0.15, "multiple": 0.18, "parallel": 0.18, "parallel_multiple": 0.15, "irrelevant": 0.30, "missing": 0.04,
}


def parse_mix(text: str | None) -> dict[str, float]:
    """`simple=0.25,multiple=0.2,...` -> weights normalized to sum 1 (shapes left out get 0)."""
    if not text:
        return dict(DEFAULT_MIX)
    weights: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in SHAPES:
            raise ValueError(f"--mix: {part.strip()!r} is not SHAPE=WEIGHT with SHAPE one of {', '.join(SHAPES)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"--mix: weight {value!r} of {name} is not a number") from None
        if weights[name] < 0:
            raise ValueError(f"--mix: weight of {name} is negative")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("--mix: the weights sum to 0; give at least one shape a positive weight")
    return {k: v / total for k, v in weights.items() if v > 0}


def allocate(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Record counts per shape summing to n (largest remainders)."""
    raw = {k: n * w for k, w in mix.items()}
    counts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def format_mix(mix: dict[str, float]) -> str:
    return ",".join(f"{k}={v:.3g}" for k, v in mix.items())
