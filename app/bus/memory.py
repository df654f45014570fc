"""In-process bus: the embedded default for a single node."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence

from app.bus.base import Bus, Handler, PresenceEntry, Subscription

log = logging.getLogger(__name__)


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, channel: str, handler: Handler) -> None:
        self._bus = bus
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        self._bus._unsubscribe(self._channel, self._handler)


class MemoryBus(Bus):
    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._presence: defaultdict[str, dict[PresenceEntry, float]] = defaultdict(dict)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._handlers.clear()

    async def publish(
        self, channel: str, data: bytes, *, durable: bool = False, urgent: bool = False
    ) -> None:
        for handler in tuple(self._handlers.get(channel, ())):
            try:
                handler(data)
            except Exception:
                log.exception("bus handler failed on %s", channel)

    async def subscribe(
        self, channel: str, handler: Handler, *, durable: bool = False
    ) -> Subscription:
        self._handlers[channel].append(handler)
        return _MemorySubscription(self, channel, handler)

    def _unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]

    async def healthy(self) -> bool:
        return True

    async def presence_set(
        self, room_id: str, entries: Sequence[PresenceEntry], ttl_seconds: float
    ) -> None:
        expires = time.monotonic() + ttl_seconds
        room = self._presence[room_id]
        for entry in entries:
            room[entry] = expires

    async def presence_remove(self, room_id: str, entries: Sequence[PresenceEntry]) -> None:
        room = self._presence.get(room_id)
        if room is None:
            return
        for entry in entries:
            room.pop(entry, None)
        if not room:
            del self._presence[room_id]

    async def presence_list(self, room_id: str) -> list[str]:
        room = self._presence.get(room_id, {})
        now = time.monotonic()
        for entry in [e for e, expires in room.items() if expires <= now]:
            del room[entry]
        return sorted({handle for _, handle in room})
