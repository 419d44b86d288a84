"""Without an API key, answer only requests addressed to this server.

A web page can make a browser send requests to `127.0.0.1:8000` through a name it
controls (DNS rebinding), and read the answers. Such requests carry that name in
`Host`, and a cross-site page its own `Origin`. So a server without keys accepts
`Host` only as an IP address, `localhost`, the name it is bound to or a name given
with `--allow-host`, and `Origin` only from those names or the server itself.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Mapping
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "*"})


def host_name(value: str) -> str:
    """The name in a `Host` value (`name`, `name:port`, `[v6]:port`), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    return _is_ip(name) and ipaddress.ip_address(name).is_loopback


class HostCheck:
    def __init__(self, allowed: Iterable[str] = ()):
        self.names = {host_name(a) for a in allowed} - WILDCARD_BINDS

    def problem(self, headers: Mapping[str, str]) -> str | None:
        """Why this request may come from a web page that is not ours; None if it may not."""
        host = headers.get("Host")
        if host is not None:
            name = host_name(host)
            if not (_is_ip(name) or _is_loopback(name) or name in self.names):
                return f"requests addressed to {name!r} are not served"
        origin = headers.get("Origin")
        if origin is not None:
            name = host_name(urlsplit(origin).netloc) if origin != "null" else "null"
            same = host is not None and name == host_name(host)
            if not (same or _is_loopback(name) or name in self.names):
                return f"requests from web pages at {origin[:100]!r} are not served"
        return None

    def advice(self, problem: str) -> str:
        return (f"{problem}: without an API key this server answers only requests for localhost, an IP address "
                "or an allowed name (so that no web page can drive it); start it with --allow-host NAME, "
                "or with --api-key")
