"""The procedural generator: records in the shapes and proportions of a mix,
deterministic for a seed, deduplicated, each validated and passed through an
optional filter (the BFCL contamination filter in the CLI)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Iterator

from agentforge.training.synth.tools.mix import allocate
from agentforge.training.synth.tools.records import validate_record

Accept = Callable[[dict], bool]


class NotAvailable(RuntimeError):
    """A data source whose module is not part of this build."""


@dataclass
class GenerationStats:
    shapes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    invalid: int = 0
    filtered: int = 0
    misfits: int = 0  # draws that did not fit their shape (drawn again)
    problems: list[str] = field(default_factory=list)


def _episodes(rng: random.Random, n: int) -> Iterator[dict]:
    try:
        from agentforge.training.synth.tools.episodes import generate_episodes
    except ImportError as e:
        raise NotAvailable("the multi_turn shape needs agentforge.training.synth.tools.episodes, which this build "
                           f"does not have ({e}); drop multi_turn from --mix") from None
    return iter(generate_episodes(rng, n))


def dedupe_key(rec: dict) -> str:
    return "\x1f".join((m.get("content") or "") for m in rec["messages"] if m.get("role") == "user")


def generate(n: int, *, seed: int = 0, mix: dict[str, float], accept: Accept | None = None,
             banned_names: frozenset[str] = frozenset(), stats: GenerationStats | None = None,
             on_record: Callable[[], None] | None = None) -> Iterator[dict]:
    from agentforge.training.synth.tools.catalog import families
    from agentforge.training.synth.tools.shapes import ShapeBuilder
    from agentforge.training.synth.tools.sessions import session

    stats = stats if stats is not None else GenerationStats()
    rng = random.Random(seed)
    builder = ShapeBuilder(families(), random.Random(rng.random()), banned_names)
    counts = allocate(n, mix)
    slots = [shape for shape, k in counts.items() for _ in range(k)]
    rng.shuffle(slots)
    episodes = _episodes(random.Random(rng.random()), counts["multi_turn"] * 2 + 10) if counts.get("multi_turn") else None
    seen: set[str] = set()
    for shape in slots:
        for _ in range(200):
            if shape == "multi_turn":
                rec = next(episodes, None)
                if rec is None:
                    raise RuntimeError("the episode generator ran out of episodes")
            else:
                rec = session(builder) if shape == "session" else builder.builder(shape)()
                if rec is None:
                    stats.misfits += 1
                    continue
            key = dedupe_key(rec)
            if key in seen:
                stats.duplicates += 1
                continue
            problems = validate_record(rec)
            if problems:
                stats.invalid += 1
                stats.problems += problems[:3]
                continue
            if accept is not None and not accept(rec):
                stats.filtered += 1
                continue
            seen.add(key)
            break
        else:
            raise RuntimeError(f"could not make a new {shape} record in 200 draws (duplicates {stats.duplicates}, "
                               f"invalid {stats.invalid}, filtered {stats.filtered}); lower --n or change --seed")
        stats.shapes[shape] = stats.shapes.get(shape, 0) + 1
        if on_record:
            on_record()
        yield rec
