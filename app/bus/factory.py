"""The backend a URL names (see app/bus/url.py), built with its presence."""

from __future__ import annotations

from dataclasses import dataclass

from app.bus.base import Bus
from app.bus.memory import MemoryBus
from app.bus.presence import MemoryPresence, Presence, RedisPresence
from app.bus.redis import RedisBus
from app.bus.url import backend_for
from app.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Backend:
    bus: Bus
    presence: Presence


def open_backend(
    url: str | None,
    *,
    node_id: str,
    metrics: Metrics,
    namespace: str = "peerchat",
    op_timeout: float = 1.0,
    queue_size: int = 10_000,
    max_age: float = 30.0,
    stream_max_age: float = 24 * 3600,
) -> Backend:
    """Not started: the caller starts and stops the bus. Raises BusUrlError for a URL that
    names no backend."""
    if backend_for(url) == "memory":
        return Backend(MemoryBus(), MemoryPresence())
    assert url is not None
    bus = RedisBus(
        url.strip(), node_id=node_id, metrics=metrics, namespace=namespace,
        op_timeout=op_timeout, queue_size=queue_size, max_age=max_age,
        stream_max_age=stream_max_age,
    )  # fmt: skip
    return Backend(bus, RedisPresence(bus))
