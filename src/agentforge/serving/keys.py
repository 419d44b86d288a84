"""API keys with their own limits: requests per minute and requests in flight.

A key is given as `KEY`, `KEY:RPM` or `KEY:RPM:CONCURRENCY` (0 or empty = no
limit), e.g. `--api-key sk-team-a:600:16`. Requests over a limit get an
OpenAI-style 429 with Retry-After, so clients' own backoff does the rest.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field


@dataclass
class KeyPolicy:
    key: str
    rpm: float | None = None  # requests per minute (token bucket: bursts up to rpm)
    concurrency: int | None = None  # requests in flight at once
    _tokens: float = field(default=0.0, init=False, repr=False, compare=False)
    _stamp: float = field(default_factory=time.monotonic, init=False, repr=False, compare=False)
    in_flight: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.rpm or 0)

    @classmethod
    def parse(cls, text: str) -> "KeyPolicy":
        key, *rest = text.strip().split(":")
        if not key:
            raise ValueError(f"empty API key in {text!r}")
        if len(rest) > 2:
            raise ValueError(f"{text!r}: expected KEY, KEY:RPM or KEY:RPM:CONCURRENCY")
        try:
            rpm = float(rest[0]) if rest and rest[0] else None
            concurrency = int(rest[1]) if len(rest) > 1 and rest[1] else None
        except ValueError:
            raise ValueError(f"{text!r}: RPM must be a number and CONCURRENCY an integer") from None
        return cls(key, rpm or None, concurrency or None)

    def take(self, now: float | None = None) -> float:
        """Use one request of the rate budget: 0.0 if allowed, else seconds until one is."""
        if not self.rpm:
            return 0.0
        now = time.monotonic() if now is None else now
        self._tokens = min(self.rpm, self._tokens + (now - self._stamp) * self.rpm / 60.0)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) * 60.0 / self.rpm


def policies(specs) -> list[KeyPolicy]:
    return [s if isinstance(s, KeyPolicy) else KeyPolicy.parse(s) for s in specs if s]


def find(policies_: list[KeyPolicy], given: str) -> KeyPolicy | None:
    """The policy of `given`, compared in constant time against every key."""
    found = None
    for p in policies_:
        if hmac.compare_digest(given.encode(), p.key.encode()):
            found = p
    return found
