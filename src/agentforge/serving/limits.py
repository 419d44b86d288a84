"""What one `agent serve` accepts: request sizes, and how long and how many
connections it holds, so that no client can exhaust its memory, its file
descriptors or its event loop."""

from __future__ import annotations

from pydantic import BaseModel, Field

FD_RESERVE = 64  # descriptors kept for the model, its files and the listening socket
ACCEPT_BURST = 128  # asyncio accepts up to the listen backlog at once, before any is refused
DEFAULT_MAX_TOKENS = 1024  # max_tokens of a request that sets none (`agent serve --default-max-tokens`)


class ServerLimits(BaseModel):
    max_n: int = 16
    max_tokens: int = 8192  # the most a request may ask for
    # what a request that sets none gets (at most max_tokens): a small model sampled at temperature 1
    # can ramble without ever writing its end token, and 8192 such tokens took minutes on a CPU
    default_max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1)
    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 2048
    request_timeout: float | None = None  # seconds for a non-streaming request; None = no limit
    header_timeout: float = Field(15.0, gt=0)  # seconds a new connection has to send its request headers
    body_timeout: float = Field(60.0, gt=0)  # seconds a request has to send its body
    keepalive_timeout: float = Field(75.0, gt=0)  # an idle connection (or one trickling its next request) is closed
    max_connections: int | None = Field(None, ge=1)  # open client connections; None: fitted to the fd limit

    def max_tokens_default(self) -> int:
        return min(self.default_max_tokens, self.max_tokens)

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
