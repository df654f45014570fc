"""Delivering from storage what the bus did not bring: the replay on join (after_seq), gaps
(news that arrived early, or never), and catching up after the bus was away.

Storage is read through the chat package (messages.stored_after), page by page; this module
opens no database session of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.chat import messages as message_service
from app.chat import rooms as room_service
from app.core.context import Domain
from app.ws import frames
from app.ws.connection import Connection, RoomCursor
from app.ws.hub import Hub

GAP_WAIT_SECONDS = 0.15
"""How long an out-of-order message waits for the one before it before storage is asked."""
REPLAY_PAGE = 200


class Recovery:
    def __init__(
        self, hub: Hub, domain: Domain, *, revoke: Callable[[Connection, str], None]
    ) -> None:
        self.hub = hub
        self.domain = domain
        self.revoke = revoke

    async def _page(
        self, conn: Connection, room_id: str, cursor: RoomCursor, upto: int | None, *, wait: bool
    ) -> bool:
        """Deliver the stored messages from the cursor's next seq on (up to `upto`, one page at
        most) and move the cursor past them; False when storage had none.

        wait: a replay, which may be long, waits for room in the send queue; live fills push
        (a client too slow for them is closed with 4408 and resumes). A message the client sent
        itself (held as "") is counted, not sent: it has its ack."""
        wanted = REPLAY_PAGE if upto is None else upto - cursor.next_seq + 1
        views = await message_service.stored_after(
            self.domain, room_id=room_id, after_seq=cursor.next_seq - 1,
            limit=max(1, min(REPLAY_PAGE, wanted)),
        )  # fmt: skip
        for view in views:
            seq = int(view["seq"])
            if seq < cursor.next_seq:
                continue
            own = cursor.pending.pop(seq, None) == ""
            if not own and conn.sees(view["sender"]["id"]):
                frame = frames.message(view)
                if wait:
                    await conn.push_waiting(frame)
                else:
                    conn.push(frame)
            cursor.next_seq = seq + 1  # past any seq storage no longer has (retention)
        return bool(views)

    async def replay(
        self, conn: Connection, room_id: str, cursor: RoomCursor, after_seq: int, upto: int
    ) -> None:
        """What a joining client asked for (after after_seq, up to the last seq at join)."""
        cursor.next_seq = after_seq + 1
        while cursor.next_seq <= upto and not conn.closing:
            if not await self._page(conn, room_id, cursor, upto, wait=True):
                break

    def fill_gap_later(self, conn: Connection, room_id: str) -> None:
        self.hub.spawn(self.fill_gap(conn, room_id, delay=GAP_WAIT_SECONDS))

    async def fill_gap(self, conn: Connection, room_id: str, delay: float = 0.0) -> None:
        """Fetch from storage what the bus did not bring in time (or at all)."""
        if delay:
            await asyncio.sleep(delay)
        cursor = conn.rooms.get(room_id)
        if cursor is None or cursor.filling or conn.closing:
            return
        cursor.filling = True
        try:
            while cursor.pending and min(cursor.pending) > cursor.next_seq:
                found = await self._page(conn, room_id, cursor, min(cursor.pending) - 1, wait=False)
                conn.drain(cursor)
                if not found:
                    return  # storage has nothing before it (never asked again in a loop)
                if conn.rooms.get(room_id) is not cursor:
                    return
        finally:
            cursor.filling = False

    async def catch_up(self, conns: list[Connection]) -> None:
        """After the bus was away: bring every joined room up to date from storage."""
        for conn in conns:
            for room_id, cursor in list(conn.rooms.items()):
                if cursor.replaying:
                    continue
                before = -1
                while before != cursor.next_seq and not conn.closing:
                    before = cursor.next_seq
                    await self._page(conn, room_id, cursor, None, wait=False)
                conn.drain(cursor)

    async def recheck_access(self, conns: list[Connection]) -> None:
        """Revoke, from storage, rooms these connections may no longer read: a revocation sent
        while the bus was away may never have arrived."""
        # One query per identity, not per connection: a peer worker may hold many sockets,
        # and the session guard runs this every few seconds.
        by_identity: dict[str, list[Connection]] = {}
        for conn in conns:
            if conn.closing or conn.principal.has_oversight or not conn.rooms:
                continue
            by_identity.setdefault(conn.principal.id, []).append(conn)
        for same in by_identity.values():
            joined = {room_id for conn in same for room_id in conn.rooms}
            allowed = await room_service.still_readable(
                self.domain, reader=same[0].principal, room_ids=sorted(joined)
            )
            for conn in same:
                for room_id in list(conn.rooms):  # a room joined meanwhile was not checked
                    if room_id not in allowed and room_id in joined:
                        self.revoke(conn, room_id)
