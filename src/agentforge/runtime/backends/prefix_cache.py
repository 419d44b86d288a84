"""Finished sequences' KV, kept so that a prompt extending one skips that prefill.

An agent's next turn extends its previous conversation, so most of its
prompt is already computed. Each entry is a one-row cache sized to what it
holds; there are at most `slots` of them within `limit` bytes, the least
recently used dropped first, and whenever the engine needs the memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentforge.runtime.backends.llama import KVCache, LlamaConfig

PREFIX_MIN = 16  # shorter shared prefixes are not worth a cache copy
GRANULE = 256  # cache capacities are multiples of this many positions


def granular(positions: int) -> int:
    return -(-max(positions, 1) // GRANULE) * GRANULE


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class Remembered:
    tokens: list[int]  # those whose KV is in `cache`
    cache: KVCache
    last_used: int = 0


class PrefixCache:
    def __init__(self, cfg: LlamaConfig, slots: int, limit: int):
        self.cfg, self.slots, self.limit = cfg, slots, limit
        self.entries: list[Remembered] = []

    @property
    def nbytes(self) -> int:
        return sum(r.cache.nbytes for r in self.entries)

    def best(self, tokens: list[int]) -> Remembered | None:
        """The entry sharing the longest prefix with `tokens`, if worth copying."""
        best = max(self.entries, key=lambda r: common_prefix(r.tokens, tokens), default=None)
        return best if best is not None and common_prefix(best.tokens, tokens) >= PREFIX_MIN else None

    def forget_one(self, keep: Remembered | None = None) -> bool:
        """Drop the least recently used entry (not `keep`); False if none."""
        victims = [r for r in self.entries if r is not keep]
        if not victims:
            return False
        self.entries.remove(min(victims, key=lambda r: r.last_used))
        return True

    def remember(self, tokens: list[int], source: KVCache, slot: int, spare: int, clock: int) -> None:
        """Copy `tokens`' KV from `source`'s `slot`, if it fits here and in the
        `spare` bytes the engine can give (entries dropped to make room count)."""
        if not self.slots:
            return
        # An entry this sequence extends is superseded by it.
        kept = [r for r in self.entries if common_prefix(r.tokens, tokens) < len(r.tokens)]
        spare += self.nbytes - sum(r.cache.nbytes for r in kept)
        self.entries = kept
        size = granular(len(tokens)) * KVCache.bytes_per_position(self.cfg)

        def fits() -> bool:
            return len(self.entries) < self.slots and self.nbytes + size <= self.limit and size <= spare

        while not fits():
            freed = self.nbytes
            if not self.forget_one():
                return
            spare += freed - self.nbytes
        cache = KVCache(self.cfg, 1, granular(len(tokens)))
        cache.copy_slot(slot, 0, len(tokens), source=source)
        self.entries.append(Remembered(tokens, cache, clock))
