"""This node's WebSocket side, wired once: the hub (connections and their rooms) and the parts
beside it (routing, recovery, presence, staff feeds, the session guard, the heartbeat). Joining,
leaving and revoking touch several of them, so they are here; everything else lives in its
part."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.bus.presence import Presence
from app.chat.rooms import Joined
from app.core.context import Domain
from app.core.enums import RoomStatus
from app.metrics import Metrics
from app.ws import frames
from app.ws.connection import Connection, RoomCursor
from app.ws.crisis import CrisisFeeds
from app.ws.heartbeat import Heartbeat
from app.ws.hub import Hub
from app.ws.presence import PresenceFeed
from app.ws.recovery import Recovery
from app.ws.routing import Router
from app.ws.sessions import SessionGuard
from app.ws.staff import StaffFeeds


class WsNode:
    def __init__(self, domain: Domain, metrics: Metrics, presence: Presence) -> None:
        self.domain = domain
        self.metrics = metrics
        self.hub = Hub(domain.events.bus, metrics, domain.settings)
        self.recovery = Recovery(self.hub, domain, revoke=self.revoke)
        self.presence = PresenceFeed(self.hub, presence, domain)
        self.crisis = CrisisFeeds(
            self.hub, domain, alert_watchers=lambda: list(self.staff.alert_watchers.values())
        )
        self.staff = StaffFeeds(self.hub, domain, self.crisis)
        self.sessions = SessionGuard(self.hub, domain, recheck_access=self.recovery.recheck_access)
        self.heartbeat = Heartbeat(self.hub, metrics, domain.settings.heartbeat_seconds)
        self.router = Router(self.hub, self.recovery, self.presence, revoke=self.revoke)
        self.hub.route = self.router.on_room_event

    # lifecycle

    async def start(self) -> None:
        await self.staff.start()
        await self.crisis.start(self.hub.bus)
        self.hub.bus.on_reconnect(self.catch_up)
        self.presence.start()
        self.sessions.start()
        self.heartbeat.start()

    async def stop(self, code: int = frames.CLOSE_GOING_AWAY) -> None:
        """Close every socket with 1001 so that clients reconnect to another node."""
        for conn in list(self.hub.connections.values()):
            conn.close(code, "server going away: reconnect")
        for _ in range(250):  # each connection sends its close frame, then leaves
            if not self.hub.connections:
                break
            await asyncio.sleep(0.02)
        self.presence.stop()
        self.sessions.stop()
        self.heartbeat.stop()
        await self.hub.stop()
        await self.staff.stop()
        await self.crisis.stop()

    async def remove(self, conn: Connection) -> None:
        self.hub.discard(conn)
        self.staff.forget(conn)
        self.crisis.forget(conn)
        for room_id in list(conn.rooms):
            await self.leave(conn, room_id)

    # rooms

    async def join(
        self,
        conn: Connection,
        room_id: str,
        load: Callable[[], Awaitable[Joined]],
        after_seq: int | None,
    ) -> Joined:
        """Subscribe before reading storage, so nothing published in between is missed; then
        replay what the client asked for, then release what arrived meanwhile, in order."""
        if room_id in conn.rooms:
            await self.leave(conn, room_id, announce=False)
        cursor = await self.hub.enter(conn, room_id)
        try:
            joined = await load()
        except BaseException:
            self.hub.detach(conn, room_id)
            await self._release(room_id)
            raise
        cursor.silent = joined.silent
        conn.push(
            frames.encode({"type": "joined", "room_id": room_id, "last_seq": joined.last_seq})
        )
        if after_seq is not None and after_seq < joined.last_seq:
            await self.recovery.replay(conn, room_id, cursor, after_seq, joined.last_seq)
            cursor.next_seq = max(cursor.next_seq, joined.last_seq + 1)
        else:
            cursor.next_seq = joined.last_seq + 1
        cursor.replaying = False
        conn.drain(cursor)
        if cursor.pending:
            self.hub.spawn(self.recovery.fill_gap(conn, room_id))
        await self.presence.joined(conn, room_id, silent=joined.silent)
        if joined.status == RoomStatus.WAITING:
            await self.crisis.send_waiting(conn, room_id)
        return joined

    async def leave(self, conn: Connection, room_id: str, *, announce: bool = True) -> None:
        cursor = self.hub.detach(conn, room_id)
        await self._left(conn, room_id, cursor, announce=announce)

    def revoke(self, conn: Connection, room_id: str) -> None:
        """Stop delivering the room to this connection now, and tell the client why."""
        cursor = self.hub.detach(conn, room_id)  # at once: no later event reaches it
        self.hub.spawn(self._left(conn, room_id, cursor))
        conn.push(frames.encode({"type": "left", "room_id": room_id, "reason": "access_revoked"}))

    async def _left(
        self, conn: Connection, room_id: str, cursor: RoomCursor | None, *, announce: bool = True
    ) -> None:
        members = self.hub.rooms.get(room_id)
        await self.presence.left(conn, room_id, cursor, announce=announce)
        if members is not None and not members:
            await self._release(room_id)

    async def _release(self, room_id: str) -> None:
        if await self.hub.release(room_id):
            self.presence.forget(room_id)

    # after the bus was away

    async def catch_up(self) -> None:
        """Bring every joined room, the presence lists and the staff feeds up to date from
        storage: news sent while the bus was away never arrived."""
        conns = list(self.hub.connections.values())
        await self.recovery.recheck_access(conns)
        await self.recovery.catch_up(list(self.hub.connections.values()))
        self.presence.refresh_all()
        await self.staff.catch_up()
