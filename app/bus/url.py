"""Which bus backend a URL names: by its scheme, so that a typo fails at start-up instead of
quietly running one node on its own."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
MEMORY_SCHEMES = frozenset({"memory"})

Backend = Literal["memory", "redis"]


class BusUrlError(ValueError):
    """The bus URL names no backend this service has."""


def backend_for(url: str | None) -> Backend:
    """Empty or ``memory://``: the in-process bus (one node). ``redis://``, ``rediss://`` or
    ``unix://``: Redis. Anything else is refused, naming what would be accepted."""
    if not url or not url.strip():
        return "memory"
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme in MEMORY_SCHEMES:
        return "memory"
    if scheme in REDIS_SCHEMES:
        return "redis"
    shown = scheme or url.strip()[:20]
    raise BusUrlError(
        f"PEERCHAT_REDIS_URL has an unknown scheme {shown!r}: use redis://, rediss:// or "
        "unix:// for Redis, or memory:// (or leave it unset) for the in-process bus."
    )
