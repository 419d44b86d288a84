"""What one `agent serve` accepts: request sizes, and how long and how many
connections it holds, so that no client can exhaust its memory, its file
descriptors or its event loop."""

from __future__ import annotations

from pydantic import BaseModel, Field

FD_RESERVE = 64  # descriptors kept for the model, its files and the listening socket
ACCEPT_BURST = 128  # asyncio accepts up to the listen backlog at once, before any is refused


class ServerLimits(BaseModel):
    max_n: int = 16
    max_tokens: int = 8192  # also the default when a request sets none, as OpenAI does
    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 2048
    request_timeout: float | None = None  # seconds for a non-streaming request; None = no limit
    header_timeout: float = Field(15.0, gt=0)  # seconds a new connection has to send its request headers
    body_timeout: float = Field(60.0, gt=0)  # seconds a request has to send its body
    keepalive_timeout: float = Field(75.0, gt=0)  # an idle connection (or one trickling its next request) is closed
    max_connections: int | None = Field(None, ge=1)  # open client connections; None: fitted to the fd limit

    def connection_cap(self) -> int:
        """`max_connections`, or half the descriptors this process may open (a proxied
        request holds a second one upstream) after a reserve and one accept burst, at most 1024."""
        if self.max_connections is not None:
            return self.max_connections
        return max(8, min(1024, (open_file_limit() - FD_RESERVE - ACCEPT_BURST) // 2))


def open_file_limit() -> int:
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE; sockets are not bounded by it there
        return 4096
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20
