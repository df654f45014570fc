"""Who is online in each room this node serves: this node's entries in the shared presence
(app/bus/presence.py), refreshed by a sweeper so that they outlive no crash, and presence
frames sent to the room's connections here when the list changes."""

from __future__ import annotations

import asyncio
import logging

from app.bus.presence import Presence, PresenceEntry
from app.core.context import Domain
from app.ws import frames
from app.ws.connection import Connection, RoomCursor
from app.ws.hub import Hub

log = logging.getLogger(__name__)
COALESCE_SECONDS = 0.02
"""Bursts of joins and leaves become one presence frame."""


def _entry(conn: Connection) -> PresenceEntry:
    return (conn.id, conn.principal.handle)


class PresenceFeed:
    def __init__(self, hub: Hub, presence: Presence, domain: Domain) -> None:
        self.hub = hub
        self.presence = presence
        self.domain = domain
        self._sent: dict[str, list[str]] = {}
        """room id -> the list last sent there, so an unchanged list is not sent again."""
        self._dirty: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def ttl(self) -> float:
        return float(self.domain.settings.presence_ttl_seconds)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="presence-sweeper")

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()

    async def joined(self, conn: Connection, room_id: str, *, silent: bool) -> None:
        """Announce a member to every node; a silent watcher is shown the list, not listed."""
        if silent:
            conn.push(frames.presence(room_id, await self._online(room_id)))
            return
        await self.presence.set(room_id, [_entry(conn)], self.ttl)
        await self.domain.events.room(room_id, {"event": "presence_changed"})

    async def left(
        self, conn: Connection, room_id: str, cursor: RoomCursor | None, *, announce: bool
    ) -> None:
        if cursor is None or cursor.silent:
            return
        await self.presence.remove(room_id, [_entry(conn)])
        if announce:
            await self.domain.events.room(room_id, {"event": "presence_changed"})

    def forget(self, room_id: str) -> None:
        """This node no longer serves the room."""
        self._sent.pop(room_id, None)

    def changed(self, room_id: str) -> None:
        """Someone joined or left somewhere: refresh the room's list here, once per burst."""
        if room_id not in self._dirty:
            self._dirty.add(room_id)
            self.hub.spawn(self._refresh(room_id))

    def refresh_all(self) -> None:
        for room_id in list(self.hub.rooms):
            self._dirty.add(room_id)
            self.hub.spawn(self._refresh(room_id))

    async def _online(self, room_id: str) -> list[str]:
        try:
            return await self.presence.online(room_id)
        except Exception:
            # The shared view is away: show who is here on this node rather than nothing.
            return sorted(
                {c.principal.handle for c in self.hub.members(room_id)
                 if not c.rooms.get(room_id, RoomCursor()).silent}
            )  # fmt: skip

    async def _refresh(self, room_id: str, *, coalesce: bool = True) -> None:
        if coalesce:
            await asyncio.sleep(COALESCE_SECONDS)
        self._dirty.discard(room_id)
        members = self.hub.members(room_id)
        if not members:
            return
        online = await self._online(room_id)
        if self._sent.get(room_id) == online:
            return
        self._sent[room_id] = online
        frame = frames.presence(room_id, online)
        for conn in members:
            conn.push(frame)

    async def _sweep(self) -> None:
        """Refresh this node's entries and notice others' that expired (a crashed node)."""
        interval = max(1.0, self.ttl / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                for room_id, members in list(self.hub.rooms.items()):
                    entries = [
                        _entry(c) for c in members.values()
                        if not c.rooms.get(room_id, RoomCursor(silent=True)).silent
                    ]  # fmt: skip
                    await self.presence.set(room_id, entries, self.ttl)
                    # No coalescing wait here: 20 ms per room, one room after another, kept
                    # an idle node's loop waking 50 times a second through every sweep.
                    await self._refresh(room_id, coalesce=False)
            except Exception:
                log.warning("presence sweep failed", exc_info=True)
