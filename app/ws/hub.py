"""This node's connections and the rooms they have joined: the registry the other parts of the
WebSocket side share (routing, recovery, presence, staff feeds, the session guard).

One bus subscription per room with local members (not one per connection); each event is
handed to routing once, however many connections receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.bus.base import Bus, Subscription
from app.core.events import room_channel
from app.core.limits import TokenBucket
from app.metrics import Metrics
from app.settings import Settings
from app.ws.connection import Connection, RoomCursor

log = logging.getLogger(__name__)
RoomEvents = Callable[[str, bytes], None]
"""Called with (room id, encoded event) for every event on a room this node has members in."""


def _unrouted(room_id: str, data: bytes) -> None:
    log.warning("room event for %s arrived before routing was attached", room_id)


class Hub:
    def __init__(self, bus: Bus, metrics: Metrics, settings: Settings) -> None:
        self.bus = bus
        self.metrics = metrics
        self.settings = settings
        self.connections: dict[str, Connection] = {}
        self.rooms: dict[str, dict[str, Connection]] = {}
        """room id -> this node's connections joined to it."""
        self.route: RoomEvents = _unrouted
        self._room_subs: dict[str, Subscription] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._identities: dict[str, set[str]] = {}
        """principal id -> this node's connection ids: the per-identity socket cap."""
        self._buckets: dict[str, TokenBucket] = {}
        """principal id -> one message bucket shared by all of that identity's connections."""

    # tasks

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run in the background; kept until done (so not collected), failures logged."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for sub in list(self._room_subs.values()):
            with contextlib.suppress(Exception):
                await sub.close()
        self._room_subs.clear()

    # connections

    def add(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self._identities.setdefault(conn.principal.id, set()).add(conn.id)
        self.metrics.ws_connections.set(len(self.connections))

    def discard(self, conn: Connection) -> None:
        """Forget the connection (its rooms are left by the caller)."""
        self.connections.pop(conn.id, None)
        ids = self._identities.get(conn.principal.id)
        if ids is not None:
            ids.discard(conn.id)
            if not ids:
                del self._identities[conn.principal.id]
                self._buckets.pop(conn.principal.id, None)
        self.metrics.ws_connections.set(len(self.connections))

    def sockets_of(self, identity: str) -> int:
        return len(self._identities.get(identity, ()))

    def message_bucket(self, identity: str) -> TokenBucket:
        """One bucket per identity on this node, so that opening more sockets buys no rate."""
        bucket = self._buckets.get(identity)
        if bucket is None:
            bucket = TokenBucket(self.settings.messages_per_second, self.settings.message_burst)
            self._buckets[identity] = bucket
        return bucket

    # rooms

    def members(self, room_id: str) -> list[Connection]:
        return list(self.rooms.get(room_id, {}).values())

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._room_locks.setdefault(room_id, asyncio.Lock())

    async def enter(self, conn: Connection, room_id: str) -> RoomCursor:
        """Subscribe this node to the room (once), then add the connection with a new cursor
        that holds live news back until its replay is done."""
        async with self._lock(room_id):
            if room_id not in self._room_subs:
                handler = lambda data, r=room_id: self.route(r, data)  # noqa: E731
                self._room_subs[room_id] = await self.bus.subscribe(room_channel(room_id), handler)
                self.rooms.setdefault(room_id, {})
        cursor = RoomCursor()
        conn.rooms[room_id] = cursor
        self.rooms.setdefault(room_id, {})[conn.id] = conn
        return cursor

    def detach(self, conn: Connection, room_id: str) -> RoomCursor | None:
        """Take the connection out of the room at once: no later event reaches it."""
        cursor = conn.rooms.pop(room_id, None)
        members = self.rooms.get(room_id)
        if members is not None:
            members.pop(conn.id, None)
        return cursor

    async def release(self, room_id: str) -> bool:
        """Unsubscribe from a room this node no longer has members in; True when it did."""
        released = False
        async with self._lock(room_id):
            if self.rooms.get(room_id):
                return False
            self.rooms.pop(room_id, None)
            sub = self._room_subs.pop(room_id, None)
            released = True
            if sub is not None:
                await sub.close()
        if room_id not in self._room_subs:
            self._room_locks.pop(room_id, None)
        return released
