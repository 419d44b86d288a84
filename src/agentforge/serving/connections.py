"""Bounding client connections: a deadline for request headers, and a cap on how
many are open at once.

aiohttp waits as long as its keep-alive timeout for a connection that trickles
its headers (hours, in recent versions) and accepts until the process runs out of
file descriptors; a few hundred slow-header clients took `agent serve` down that
way. Here each connection must have its request's headers in within
`header_timeout` (its next request within `keepalive_timeout`), and connections
over the cap get a 503 and are closed at once, before aiohttp sees them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from aiohttp import web

from agentforge.serving.limits import ServerLimits

log = logging.getLogger("agentforge.server")

BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s")
BUSY_BODY = (b'{"error": {"message": "Too many open connections; retry shortly", "type": "server_error", '
             b'"param": null, "code": "too_many_connections"}}')


class ConnectionGuard:
    """Open connections by transport, each with the timer that closes it if its
    next request's headers are late."""

    def __init__(self, limits: ServerLimits):
        self.cap = limits.connection_cap()
        self.header_timeout, self.keepalive_timeout = limits.header_timeout, limits.keepalive_timeout
        self.timers: dict[asyncio.BaseTransport, asyncio.TimerHandle | None] = {}
        self.refused = 0
        self.timed_out = 0

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(self, make_handler())

    def opened(self, transport: asyncio.Transport) -> bool:
        """Admit a new connection (False: it was refused and closed)."""
        if len(self.timers) >= self.cap:
            self.refused += 1
            transport.write(BUSY % (len(BUSY_BODY), BUSY_BODY))
            transport.close()
            return False
        self.timers[transport] = None
        self._arm(transport, self.header_timeout)
        return True

    def closed(self, transport: asyncio.BaseTransport) -> None:
        timer = self.timers.pop(transport, None)
        if timer is not None:
            timer.cancel()

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        """The headers are in: no deadline while the request is handled."""
        if transport in self.timers:
            timer = self.timers[transport]
            if timer is not None:
                timer.cancel()
            self.timers[transport] = None

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        if transport in self.timers and not transport.is_closing():
            self._arm(transport, self.keepalive_timeout)

    def _arm(self, transport: asyncio.BaseTransport, seconds: float) -> None:
        old = self.timers.get(transport)
        if old is not None:
            old.cancel()
        self.timers[transport] = asyncio.get_running_loop().call_later(seconds, self._expire, transport)

    def _expire(self, transport: asyncio.BaseTransport) -> None:
        if self.timers.get(transport) is None:
            return
        if isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size():
            self._arm(transport, self.keepalive_timeout)  # a slow reader still receiving its answer
            return
        self.timed_out += 1
        log.debug("closing a connection that sent no complete request in time")
        self.timers[transport] = None
        transport.abort()  # nothing of ours to flush; frees the descriptor now


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, admitted and timed by the guard."""

    def __init__(self, guard: ConnectionGuard, inner: Any):
        self.guard, self.inner, self.admitted = guard, inner, False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.admitted = self.guard.opened(transport)  # type: ignore[arg-type]
        if self.admitted:
            self.inner.connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.admitted:
            self.guard.closed(self.transport)
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through a ConnectionGuard (the same listening
    socket options as TCPSite's own start)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard, **kwargs: Any):
        super().__init__(runner, host, port, **kwargs)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self.guard.protocol_factory(server), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=self._reuse_address, reuse_port=self._reuse_port)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
