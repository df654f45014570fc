"""Presence: who is online in a room, across nodes. State with expiry rather than news, so an
interface of its own beside the Bus: entries expire unless refreshed, and the users of a node
that crashed drop out by themselves."""

from __future__ import annotations

import abc
import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence

from redis.exceptions import RedisError

from app.bus.redis import RedisBus

PresenceEntry = tuple[str, str]
"""(connection id, handle): one person may be online from several connections."""


class Presence(abc.ABC):
    @abc.abstractmethod
    async def set(self, room_id: str, entries: Sequence[PresenceEntry], ttl_seconds: float) -> None:
        """Add or refresh entries until ttl_seconds from now; never raises for transport faults
        (the next refresh puts them back)."""

    @abc.abstractmethod
    async def remove(self, room_id: str, entries: Sequence[PresenceEntry]) -> None:
        """Never raises for transport faults: the entries expire by themselves."""

    @abc.abstractmethod
    async def online(self, room_id: str) -> list[str]:
        """The handles online in the room, sorted, each once. Raises when the shared view is
        away, so that the caller can fall back to what it knows itself."""


class MemoryPresence(Presence):
    """One node's view, which with the in-process bus is the whole view."""

    def __init__(self) -> None:
        self._rooms: defaultdict[str, dict[PresenceEntry, float]] = defaultdict(dict)

    async def set(self, room_id: str, entries: Sequence[PresenceEntry], ttl_seconds: float) -> None:
        expires = time.monotonic() + ttl_seconds
        room = self._rooms[room_id]
        for entry in entries:
            room[entry] = expires

    async def remove(self, room_id: str, entries: Sequence[PresenceEntry]) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        for entry in entries:
            room.pop(entry, None)
        if not room:
            del self._rooms[room_id]

    async def online(self, room_id: str) -> list[str]:
        room = self._rooms.get(room_id, {})
        now = time.monotonic()
        for entry in [e for e, expires in room.items() if expires <= now]:
            del room[entry]
        return sorted({handle for _, handle in room})


class RedisPresence(Presence):
    """One sorted set per room (connection and handle -> expiry), on the bus's Redis. Skipped
    while the bus finds Redis hung, so that presence never makes a client wait on it."""

    def __init__(self, bus: RedisBus) -> None:
        self._bus = bus

    def _key(self, room_id: str) -> str:
        return self._bus.key(f"presence:{room_id}")

    @staticmethod
    def _member(entry: PresenceEntry) -> str:
        return f"{entry[0]}\x1f{entry[1]}"

    async def set(self, room_id: str, entries: Sequence[PresenceEntry], ttl_seconds: float) -> None:
        redis = self._bus.client
        if not entries or redis is None or self._bus.stalled:
            return  # refreshed by the presence sweep once Redis answers again
        expires = time.time() + ttl_seconds
        key = self._key(room_id)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {self._member(e): expires for e in entries})
                pipe.expire(key, int(ttl_seconds * 4))
                await asyncio.wait_for(pipe.execute(), timeout=self._bus.op_timeout)
        except (RedisError, OSError, TimeoutError):
            self._bus.metrics.bus_errors.inc()

    async def remove(self, room_id: str, entries: Sequence[PresenceEntry]) -> None:
        redis = self._bus.client
        if not entries or redis is None or self._bus.stalled:
            return  # the entries expire by themselves
        try:
            await asyncio.wait_for(
                redis.zrem(self._key(room_id), *[self._member(e) for e in entries]),
                timeout=self._bus.op_timeout,
            )
        except (RedisError, OSError, TimeoutError):
            self._bus.metrics.bus_errors.inc()

    async def online(self, room_id: str) -> list[str]:
        redis = self._bus.client
        if redis is None or self._bus.stalled:
            raise ConnectionError("redis bus not started or not answering")
        key = self._key(room_id)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zrange(key, 0, -1)
            _, members = await asyncio.wait_for(pipe.execute(), timeout=self._bus.op_timeout)
        return sorted({m.decode().split("\x1f", 1)[1] for m in members})
