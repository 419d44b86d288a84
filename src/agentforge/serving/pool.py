"""Several replicas of one model behind one name.

`UpstreamPool` is a Backend that spreads requests over replica Backends
(OpenAI-compatible URLs, launched vLLM servers, the embedded model, LiteLLM
models - anything `make_backend` builds):

- **Sticky sessions with bounded load.** Requests of one conversation share a
  prefix (system prompt, tools, first user message); they go to the same
  replica so its prefix cache stays warm. The replica is chosen by rendezvous
  hashing of that prefix, so ejecting one replica moves only its own
  conversations. A replica already holding more than `load_factor` times its
  fair share of in-flight requests is skipped for the next one in the
  conversation's hash order ("consistent hashing with bounded loads").
  With `sticky=False`: least outstanding requests.
- **Health.** Consecutive transient failures eject a replica for a while
  (doubling each time); a background check probes every replica and
  readmits ejected ones that answer. With every replica ejected, the one due
  back soonest is tried rather than failing outright.
- **Failover.** A request that fails transiently (connection refused, 5xx,
  429, timeout) is retried on another replica - always for `complete`, and
  for `stream` only while nothing has been sent to the client yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Sequence

from agentforge.runtime.backends.base import Backend, BackendError, StreamEvent, TransientBackendError
from agentforge.runtime.messages import Completion, Message, Sampling, ToolSpec

log = logging.getLogger("agentforge.pool")


@dataclass
class PoolPolicy:
    sticky: bool = True
    load_factor: float = 1.25  # bounded load: a replica takes at most this x its fair share of in-flight requests
    eject_after: int = 2  # consecutive transient failures
    eject_seconds: float = 5.0  # first ejection; doubles on each repeat ...
    eject_max_seconds: float = 120.0  # ... up to this
    check_interval: float = 5.0  # seconds between health checks (0: none)
    check_timeout: float = 3.0
    failover: int = 2  # other replicas tried after a transient failure


@dataclass(eq=False)
class Replica:
    backend: Backend
    name: str
    in_flight: int = 0
    failures: int = 0  # consecutive transient failures
    ejections: int = 0  # consecutive ejections (sets the next ejection's length)
    ejected_until: float = 0.0
    served: int = 0
    failed: int = 0
    last_error: str | None = None
    key: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.key = self.name.encode()

    def up(self, now: float) -> bool:
        return now >= self.ejected_until

    def status(self, now: float) -> dict[str, Any]:
        return {"name": self.name, "healthy": self.up(now), "in_flight": self.in_flight, "served": self.served,
                "failed": self.failed, "ejected_for_s": round(max(0.0, self.ejected_until - now), 1),
                "last_error": self.last_error}


def session_key(messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> bytes:
    """What one conversation's requests share: its system prompt, first user turn and tools."""
    system = next((m.content or "" for m in messages if m.role == "system"), "")
    first_user = next((m.content or "" for m in messages if m.role == "user"), "")
    names = [t.function.name for t in tools or ()]
    return json.dumps([system, first_user, names], ensure_ascii=False).encode()


def _score(key: bytes, replica: Replica) -> bytes:
    return hashlib.blake2b(key, digest_size=8, key=replica.key[:64]).digest()


async def probe(backend: Backend, timeout: float) -> bool:
    """Is the backend answering? Backends without a `health()` method count as up."""
    check = getattr(backend, "health", None)
    if check is None:
        return True
    try:
        return bool(await asyncio.wait_for(check(), timeout))
    except Exception:  # noqa: BLE001 - any failure to answer is "down"
        return False


class UpstreamPool:
    """A Backend over replicas of one model (see the module docstring)."""

    def __init__(self, replicas: Sequence[Backend], name: str | None = None, policy: PoolPolicy | None = None,
                 replica_names: Sequence[str] | None = None):
        if not replicas:
            raise ValueError("a pool needs at least one replica")
        names = list(replica_names or [])
        names += [f"{getattr(b, 'name', 'replica')}#{i}" for i, b in enumerate(replicas)][len(names):]
        self.replicas = [Replica(b, n) for b, n in zip(replicas, names)]
        self.name = name or getattr(replicas[0], "name", "pool")
        self.policy = policy or PoolPolicy()
        self._checker: asyncio.Task | None = None
        self._turn = 0  # breaks ties in least-outstanding order

    # ------------------------------------------------------------ choosing

    def order(self, key: bytes | None, now: float | None = None) -> list[Replica]:
        """Replicas in the order to try them for a request with this session key."""
        now = time.monotonic() if now is None else now
        up = [r for r in self.replicas if r.up(now)]
        down = sorted((r for r in self.replicas if not r.up(now)), key=lambda r: r.ejected_until)
        if not up:
            return down[:1]  # nothing healthy: try the one due back soonest
        if key is None or not self.policy.sticky:
            self._turn += 1
            rot = self._turn % len(up)
            return sorted(up[rot:] + up[:rot], key=lambda r: r.in_flight)
        ranked = sorted(up, key=lambda r: _score(key, r), reverse=True)
        cap = math.ceil(self.policy.load_factor * (sum(r.in_flight for r in up) + 1) / len(up))
        roomy = [r for r in ranked if r.in_flight < cap]
        return roomy + [r for r in ranked if r.in_flight >= cap]

    # ------------------------------------------------------------ bookkeeping

    def _succeeded(self, r: Replica) -> None:
        r.served += 1
        r.failures = r.ejections = 0
        r.ejected_until = 0.0

    def _failed(self, r: Replica, exc: BaseException) -> None:
        r.failed += 1
        r.last_error = str(exc)[:300]
        if not r.up(time.monotonic()):
            return  # requests sent before the ejection failing late: the same incident, not a new one
        r.failures += 1
        if r.failures >= self.policy.eject_after:
            seconds = min(self.policy.eject_seconds * 2**r.ejections, self.policy.eject_max_seconds)
            r.ejections += 1
            r.failures = 0
            r.ejected_until = time.monotonic() + seconds
            log.warning("%s: replica %s ejected for %.0f s after repeated failures: %s",
                        self.name, r.name, seconds, r.last_error)

    def _ensure_checker(self) -> None:
        if self._checker is None and self.policy.check_interval > 0 and len(self.replicas) > 0:
            self._checker = asyncio.get_running_loop().create_task(self._check_forever())

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.policy.check_interval)
            await self.check()

    async def check(self) -> None:
        """Probe every replica once: readmit ejected ones that answer, count failures of those that don't."""
        results = await asyncio.gather(*(probe(r.backend, self.policy.check_timeout) for r in self.replicas))
        now = time.monotonic()
        for r, ok in zip(self.replicas, results):
            if ok and not r.up(now):
                log.info("%s: replica %s is answering again; readmitted", self.name, r.name)
                r.ejected_until, r.failures = 0.0, 0
            elif not ok and r.up(now):
                self._failed(r, TransientBackendError("health check failed"))

    def _attempts(self, key: bytes | None) -> list[Replica]:
        self._ensure_checker()
        return self.order(key)[: self.policy.failover + 1]

    def _give_up(self, tried: list[Replica], last: BaseException) -> TransientBackendError:
        names = ", ".join(r.name for r in tried)
        return TransientBackendError(f"{self.name}: every replica tried failed ({names}); last error: {last}")

    # ------------------------------------------------------------ the Backend interface

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                       sampling: Sampling | None = None) -> list[Completion]:
        tried: list[Replica] = []
        last: BaseException | None = None
        for r in self._attempts(session_key(messages, tools)):
            tried.append(r)
            r.in_flight += 1
            try:
                result = await r.backend.complete(messages, tools, n, sampling)
            except TransientBackendError as exc:
                self._failed(r, exc)
                last = exc
                log.info("%s: %s failed (%s); failing over", self.name, r.name, exc)
                continue
            except BackendError:
                self._succeeded(r)  # it answered; the request itself was bad
                raise
            finally:
                r.in_flight -= 1
            self._succeeded(r)
            return result
        raise self._give_up(tried, last or BackendError("no replica"))

    async def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, n: int = 1,
                     sampling: Sampling | None = None) -> AsyncIterator[StreamEvent]:
        tried: list[Replica] = []
        last: BaseException | None = None
        for r in self._attempts(session_key(messages, tools)):
            tried.append(r)
            r.in_flight += 1
            sent = False
            try:
                async with aclosing(r.backend.stream(messages, tools, n, sampling)) as events:
                    async for ev in events:
                        sent = True
                        yield ev
            except TransientBackendError as exc:
                self._failed(r, exc)
                if sent:  # the client has tokens from this replica: a replay would contradict them
                    raise
                last = exc
                log.info("%s: %s failed before its first token (%s); failing over", self.name, r.name, exc)
                continue
            except BackendError:
                self._succeeded(r)
                raise
            finally:
                r.in_flight -= 1
            self._succeeded(r)
            return
        raise self._give_up(tried, last or BackendError("no replica"))

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {"replicas": [r.status(now) for r in self.replicas],
                "healthy": sum(r.up(now) for r in self.replicas)}

    async def health(self) -> bool:
        return any(r.up(time.monotonic()) for r in self.replicas)

    async def aclose(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
            self._checker = None
        for r in self.replicas:
            try:
                await r.backend.aclose()
            except Exception:  # noqa: BLE001 - close the others regardless
                log.exception("closing replica %s failed", r.name)


# ---------------------------------------------------------------- building pools from specs

REPLICATED = re.compile(r"^(?P<spec>.+)\*(?P<count>[0-9]+)$")


def expand(spec: str) -> list[str]:
    """`SPEC*K` stands for K replicas of SPEC."""
    match = REPLICATED.match(spec)
    if match is None:
        return [spec]
    count = int(match["count"])
    if not 1 <= count <= 256:
        raise ValueError(f"{spec!r}: the replica count must be between 1 and 256")
    return [match["spec"]] * count


def group_specs(specs: Sequence[str], names: Sequence[str]) -> list[tuple[str | None, list[str]]]:
    """(served name or None for the backend's own, replica specs) per served model.

    `names[i]` names `specs[i]`; specs given the same name, or replicated with
    `*K`, become one pool. Unnamed specs stay apart (an accidental clash of two
    default names is an error later, not a silent pool of different models).
    """
    groups: dict[str, list[str]] = {}
    out: list[tuple[str | None, list[str]]] = []
    for i, spec in enumerate(specs):
        name = names[i] if i < len(names) else None
        replicas = expand(spec)
        if name is None:
            out.append((None, replicas))
        elif name in groups:
            groups[name].extend(replicas)
        else:
            groups[name] = replicas
            out.append((name, replicas))
    return out


def replica_kwargs(spec: str, index: int, count: int) -> dict[str, Any]:
    """Backend options for replica `index` of `count`: one quick retry (the pool fails over
    instead of backing off for minutes), and launched vLLM replicas each on their own GPU."""
    kind = spec.partition(":")[0]
    if count < 2:
        return {}
    if kind in ("openai", "litellm"):
        return {"max_retries": 1}
    if kind == "vllm":
        kw: dict[str, Any] = {"client_kwargs": {"max_retries": 1}}
        gpus = [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
        gpus = gpus or [str(i) for i in range(count)]
        kw["env"] = {"CUDA_VISIBLE_DEVICES": gpus[index % len(gpus)]}
        return kw
    return {}
