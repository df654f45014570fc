"""This node's connections, and the bus subscriptions that feed them.

One bus subscription per room with local members (not one per connection); each event is
decoded once and each frame encoded once per audience, however many connections receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from app.bus.base import Subscription
from app.chat import messages as message_service
from app.chat import queue as queue_service
from app.chat import rooms as room_service
from app.chat.rooms import Joined
from app.chat.views import message_view
from app.core.context import Domain
from app.core.enums import RoomStatus
from app.core.events import ALERTS_CHANNEL, PEOPLE_CHANNEL, QUEUE_CHANNEL, decode, room_channel
from app.core.limits import TokenBucket
from app.metrics import Metrics
from app.safety import alerts as alert_service
from app.storage.models import User
from app.ws import frames
from app.ws.connection import Connection, RoomCursor
from app.ws.crisis import CrisisFeeds

log = logging.getLogger(__name__)
GAP_WAIT_SECONDS = 0.15
"""How long an out-of-order message waits for the one before it before storage is asked."""
REPLAY_PAGE = 200
QUEUE_DEBOUNCE_SECONDS = 0.1


class Hub:
    def __init__(self, domain: Domain, metrics: Metrics) -> None:
        self.domain = domain
        self.metrics = metrics
        self.bus = domain.events.bus
        self.connections: dict[str, Connection] = {}
        self.rooms: dict[str, dict[str, Connection]] = {}
        self._room_subs: dict[str, Subscription] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._presence_sent: dict[str, list[str]] = {}
        self._presence_dirty: set[str] = set()
        self.queue_watchers: dict[str, Connection] = {}
        self.alert_watchers: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subs: list[Subscription] = []
        self._queue_refresh: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._guard: asyncio.Task[None] | None = None
        self._identities: dict[str, set[str]] = {}
        """principal id -> this node's connection ids: the per-identity socket cap."""
        self._buckets: dict[str, TokenBucket] = {}
        """principal id -> one message bucket shared by all of that identity's connections."""
        self.crisis = CrisisFeeds(self)

    # lifecycle

    async def start(self) -> None:
        self._subs.append(await self.bus.subscribe(QUEUE_CHANNEL, self._on_queue_event))
        self._subs.append(
            await self.bus.subscribe(ALERTS_CHANNEL, self._on_alert_event, durable=True)
        )
        self._subs.append(await self.bus.subscribe(PEOPLE_CHANNEL, self.crisis.on_people_event))
        self.bus.on_reconnect(self.catch_up)
        self._sweeper = asyncio.create_task(self._sweep_presence(), name="presence-sweeper")
        self._guard = asyncio.create_task(self._guard_sessions(), name="session-guard")

    async def stop(self, code: int = frames.CLOSE_GOING_AWAY) -> None:
        """Close every socket with 1001 so that clients reconnect to another node."""
        for conn in list(self.connections.values()):
            conn.close(code, "server going away: reconnect")
        for _ in range(250):  # each connection sends its close frame, then leaves
            if not self.connections:
                break
            await asyncio.sleep(0.02)
        for background in (self._sweeper, self._guard):
            if background is not None:
                background.cancel()
        for task in list(self._tasks):
            task.cancel()
        for sub in self._subs + list(self._room_subs.values()):
            with contextlib.suppress(Exception):
                await sub.close()
        self._subs.clear()
        self._room_subs.clear()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("hub task failed", exc_info=task.exception())

    def add(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self._identities.setdefault(conn.principal.id, set()).add(conn.id)
        self.metrics.ws_connections.set(len(self.connections))

    def sockets_of(self, identity: str) -> int:
        return len(self._identities.get(identity, ()))

    def message_bucket(self, identity: str) -> TokenBucket:
        """One bucket per identity on this node, so that opening more sockets buys no rate."""
        bucket = self._buckets.get(identity)
        if bucket is None:
            settings = self.domain.settings
            bucket = TokenBucket(settings.messages_per_second, settings.message_burst)
            self._buckets[identity] = bucket
        return bucket

    async def remove(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        ids = self._identities.get(conn.principal.id)
        if ids is not None:
            ids.discard(conn.id)
            if not ids:
                del self._identities[conn.principal.id]
                self._buckets.pop(conn.principal.id, None)
        self.queue_watchers.pop(conn.id, None)
        self.alert_watchers.pop(conn.id, None)
        self.crisis.forget(conn)
        self.metrics.ws_connections.set(len(self.connections))
        for room_id in list(conn.rooms):
            await self.leave(conn, room_id)

    # rooms

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._room_locks.setdefault(room_id, asyncio.Lock())

    async def _ensure_subscribed(self, room_id: str) -> None:
        async with self._lock(room_id):
            if room_id not in self._room_subs:
                handler = lambda data, r=room_id: self._on_room_event(r, data)  # noqa: E731
                self._room_subs[room_id] = await self.bus.subscribe(room_channel(room_id), handler)
                self.rooms.setdefault(room_id, {})

    async def _release(self, room_id: str) -> None:
        async with self._lock(room_id):
            if self.rooms.get(room_id):
                return
            self.rooms.pop(room_id, None)
            self._presence_sent.pop(room_id, None)
            sub = self._room_subs.pop(room_id, None)
            if sub is not None:
                await sub.close()
        if room_id not in self._room_subs:
            self._room_locks.pop(room_id, None)

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
        await self._ensure_subscribed(room_id)
        cursor = RoomCursor()
        conn.rooms[room_id] = cursor
        self.rooms.setdefault(room_id, {})[conn.id] = conn
        try:
            joined = await load()
        except BaseException:
            conn.rooms.pop(room_id, None)
            self.rooms.get(room_id, {}).pop(conn.id, None)
            await self._release(room_id)
            raise
        cursor.silent = joined.silent
        conn.push(
            frames.encode({"type": "joined", "room_id": room_id, "last_seq": joined.last_seq})
        )
        if after_seq is not None and after_seq < joined.last_seq:
            await self._replay(conn, room_id, after_seq, joined.last_seq)
            cursor.next_seq = max(cursor.next_seq, joined.last_seq + 1)
        else:
            cursor.next_seq = joined.last_seq + 1
        cursor.replaying = False
        conn.drain(cursor)
        if cursor.pending:
            self.spawn(self._fill_gap(conn, room_id))
        if not joined.silent:
            await self.bus.presence_set(
                room_id, [(conn.id, conn.principal.handle)], self._presence_ttl
            )
            await self.domain.events.room(room_id, {"event": "presence_changed"})
        else:
            await self._send_presence_to(conn, room_id)
        if joined.status == RoomStatus.WAITING:
            await self.crisis.send_waiting(conn, room_id)
        return joined

    async def _replay(self, conn: Connection, room_id: str, after_seq: int, upto: int) -> None:
        cursor = conn.rooms[room_id]
        position = after_seq
        while position < upto and not conn.closing:
            async with self.domain.db.read() as session:
                rows = await message_service.messages_after(
                    session, room_id=room_id, after_seq=position,
                    limit=min(REPLAY_PAGE, upto - position),
                )  # fmt: skip
            if not rows:
                break
            for row in rows:
                if conn.sees(row.sender_id):
                    await conn.push_waiting(frames.message(message_view(row)))
                position = row.seq
            cursor.next_seq = position + 1

    async def leave(self, conn: Connection, room_id: str, *, announce: bool = True) -> None:
        cursor = conn.rooms.pop(room_id, None)
        members = self.rooms.get(room_id)
        if members is not None:
            members.pop(conn.id, None)
        await self._left(conn, room_id, cursor, announce=announce)

    async def _left(
        self, conn: Connection, room_id: str, cursor: RoomCursor | None, *, announce: bool = True
    ) -> None:
        members = self.rooms.get(room_id)
        if cursor is not None and not cursor.silent:
            await self.bus.presence_remove(room_id, [(conn.id, conn.principal.handle)])
            if announce:
                await self.domain.events.room(room_id, {"event": "presence_changed"})
        if members is not None and not members:
            await self._release(room_id)

    # events from the bus (called on the event loop; must not block)

    def _on_room_event(self, room_id: str, data: bytes) -> None:
        members = self.rooms.get(room_id)
        if not members:
            return
        event = decode(data)
        kind = event.get("event")
        origin = event.get("origin")
        if self.crisis.on_room_event(room_id, event):
            return
        if kind == "message":
            view = event["message"]
            seq = int(view["seq"])
            frame = frames.message(view)
            sender = view["sender"]["id"]
            for conn in list(members.values()):
                shown = frame if conn.sees(sender) else ""  # still counted, so no gap opens
                if conn.id != origin and conn.offer(room_id, seq, shown):
                    self.spawn(self._fill_gap(conn, room_id, delay=GAP_WAIT_SECONDS))
        elif kind == "typing":
            frame = frames.typing(room_id, str(event.get("handle", "")))
            for conn in list(members.values()):
                if conn.id != origin and conn.sees(event.get("sender_id")):
                    conn.push(frame)
        elif kind == "presence_changed":
            if room_id not in self._presence_dirty:
                self._presence_dirty.add(room_id)
                self.spawn(self._refresh_presence(room_id))
        elif kind == "room_risk":
            frame = frames.staff_room_risk(event)
            for conn in list(members.values()):
                if conn.is_staff:
                    conn.push(frame)
        elif kind == "report":
            frame = frames.staff_report(event)
            for conn in list(members.values()):
                if conn.is_staff:
                    conn.push(frame)
        elif kind == "blocked":
            for conn in list(members.values()):
                if conn.principal.id == event.get("blocker_id"):
                    conn.blocked.add(str(event.get("blocked_id")))
        elif kind == "access_revoked":
            for conn in list(members.values()):
                if _revoked(conn, event):
                    self.revoke(conn, room_id)
        elif kind == "room_closed":
            frame = frames.encode({"type": "room_closed", "room_id": room_id})
            for conn in list(members.values()):
                conn.push(frame)

    def revoke(self, conn: Connection, room_id: str) -> None:
        """Stop delivering the room to this connection now, and tell the client why."""
        cursor = conn.rooms.pop(room_id, None)
        self.rooms.get(room_id, {}).pop(conn.id, None)  # at once: no later event reaches it
        self.spawn(self._left(conn, room_id, cursor))
        conn.push(frames.encode({"type": "left", "room_id": room_id, "reason": "access_revoked"}))

    def fill_gap_later(self, conn: Connection, room_id: str) -> None:
        self.spawn(self._fill_gap(conn, room_id, delay=GAP_WAIT_SECONDS))

    async def _fill_gap(self, conn: Connection, room_id: str, delay: float = 0.0) -> None:
        """Fetch from storage what the bus did not bring in time (or at all)."""
        if delay:
            await asyncio.sleep(delay)
        cursor = conn.rooms.get(room_id)
        if cursor is None or cursor.filling or conn.closing:
            return
        cursor.filling = True
        try:
            while cursor.pending and min(cursor.pending) > cursor.next_seq:
                upto = min(cursor.pending)
                await self._replay_into(conn, room_id, cursor, upto - 1)
                conn.drain(cursor)
                if conn.rooms.get(room_id) is not cursor:
                    return
        finally:
            cursor.filling = False

    async def _replay_into(
        self, conn: Connection, room_id: str, cursor: RoomCursor, upto: int | None
    ) -> None:
        wanted = REPLAY_PAGE if upto is None else upto - cursor.next_seq + 1
        async with self.domain.db.read() as session:
            rows = await message_service.messages_after(
                session, room_id=room_id, after_seq=cursor.next_seq - 1,
                limit=max(1, min(REPLAY_PAGE, wanted)),
            )  # fmt: skip
        for row in rows:
            if row.seq == cursor.next_seq:
                own = cursor.pending.pop(row.seq, None) == ""
                if not own and conn.sees(row.sender_id):
                    conn.push(frames.message(message_view(row)))
                cursor.next_seq += 1

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

    async def catch_up(self) -> None:
        """After the bus was away: bring every joined room up to date from storage."""
        await self.recheck_access(list(self.connections.values()))
        for conn in list(self.connections.values()):
            for room_id, cursor in list(conn.rooms.items()):
                if cursor.replaying:
                    continue
                before = -1
                while before != cursor.next_seq and not conn.closing:
                    before = cursor.next_seq
                    await self._replay_into(conn, room_id, cursor, None)
                conn.drain(cursor)
        for room_id in list(self.rooms):
            self._presence_dirty.add(room_id)
            self.spawn(self._refresh_presence(room_id))
        self._schedule_queue_refresh()
        # Alerts raised elsewhere while the bus was away are in storage: send every open one.
        for conn in list(self.alert_watchers.values()):
            await self._send_open_alerts(conn)

    # sessions

    async def _guard_sessions(self) -> None:
        interval = self.domain.settings.session_check_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_sessions()
            except Exception:
                log.warning("session check failed", exc_info=True)

    async def check_sessions(self) -> None:
        """Close with 4401 every connection whose token expired, and every staff connection
        whose account is disabled, gone, changed role or changed password. Each node checks its
        own connections against storage, so this works with the bus away."""
        now = time.time()
        for conn in list(self.connections.values()):
            if conn.expires_at <= now:
                self._unauthorized(conn, "your sign-in expired; sign in again")
        staff = [c for c in self.connections.values() if c.is_staff and not c.closing]
        if not staff:
            return
        # Peer workers' looks at waiting requests end with a claim on any node: re-checked here
        # too, so that a claim whose news was lost (a node cut off from Redis) still ends them.
        await self.recheck_access([c for c in staff if c.principal.role == "peer_worker"])
        ids = sorted({c.principal.id for c in staff})
        async with self.domain.db.read() as session:
            rows = await session.execute(
                select(User.id, User.role, User.disabled, User.tokens_valid_after).where(
                    User.id.in_(ids)
                )
            )
            accounts = {row.id: row for row in rows.all()}
        for conn in staff:
            account = accounts.get(conn.principal.id)
            if account is None or account.disabled or account.role != conn.principal.role:
                self._unauthorized(conn, "this account is no longer active")
            elif account.tokens_valid_after is not None and conn.issued_at < int(
                account.tokens_valid_after.timestamp()
            ):
                self._unauthorized(conn, "the password changed; sign in again")

    def _unauthorized(self, conn: Connection, reason: str) -> None:
        if not conn.closing:
            self.metrics.ws_revoked.inc()
            conn.close(frames.CLOSE_UNAUTHORIZED, reason)

    # presence

    @property
    def _presence_ttl(self) -> float:
        return float(self.domain.settings.presence_ttl_seconds)

    async def _online(self, room_id: str) -> list[str]:
        try:
            return await self.bus.presence_list(room_id)
        except Exception:
            # The shared view is away: show who is here on this node rather than nothing.
            members = self.rooms.get(room_id, {})
            return sorted(
                {c.principal.handle for c in members.values()
                 if not c.rooms.get(room_id, RoomCursor()).silent}
            )  # fmt: skip

    async def _refresh_presence(self, room_id: str, *, coalesce: bool = True) -> None:
        if coalesce:
            await asyncio.sleep(0.02)  # coalesce bursts of joins and leaves
        self._presence_dirty.discard(room_id)
        members = self.rooms.get(room_id)
        if not members:
            return
        online = await self._online(room_id)
        if self._presence_sent.get(room_id) == online:
            return
        self._presence_sent[room_id] = online
        frame = frames.presence(room_id, online)
        for conn in list(members.values()):
            conn.push(frame)

    async def _send_presence_to(self, conn: Connection, room_id: str) -> None:
        conn.push(frames.presence(room_id, await self._online(room_id)))

    async def _sweep_presence(self) -> None:
        """Refresh this node's entries and notice others' that expired (a crashed node)."""
        interval = max(1.0, self._presence_ttl / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                for room_id, members in list(self.rooms.items()):
                    entries = [
                        (c.id, c.principal.handle) for c in members.values()
                        if not c.rooms.get(room_id, RoomCursor(silent=True)).silent
                    ]  # fmt: skip
                    await self.bus.presence_set(room_id, entries, self._presence_ttl)
                    # No coalescing wait here: 20 ms per room, one room after another, kept
                    # an idle node's loop waking 50 times a second through every sweep.
                    await self._refresh_presence(room_id, coalesce=False)
            except Exception:
                log.warning("presence sweep failed", exc_info=True)

    # staff channels

    def watch_queue(self, conn: Connection) -> None:
        self.queue_watchers[conn.id] = conn
        self.spawn(self._send_queue([conn]))

    async def watch_alerts(self, conn: Connection) -> None:
        """Every open alert at once, then live ones: a supervisor who was away misses none."""
        self.alert_watchers[conn.id] = conn
        await self._send_open_alerts(conn)

    async def _send_open_alerts(self, conn: Connection) -> None:
        for status in ("acknowledged", "open"):
            found = await alert_service.list_alerts(
                self.domain, viewer=conn.principal, status=status, limit=1000
            )
            for alert in reversed(found):
                conn.push(frames.staff_alert(alert))

    def _on_queue_event(self, data: bytes) -> None:
        event = decode(data)
        if event.get("event") == "room_risk":
            frame = frames.staff_room_risk(event)
            joined_here = self.rooms.get(event.get("room_id", ""), {})
            for conn in list(self.queue_watchers.values()):
                if conn.id not in joined_here:
                    conn.push(frame)
        self._schedule_queue_refresh()
        self.crisis.queue_changed()

    def _schedule_queue_refresh(self) -> None:
        if self.queue_watchers and (self._queue_refresh is None or self._queue_refresh.done()):
            self._queue_refresh = asyncio.create_task(self._debounced_queue())

    async def _debounced_queue(self) -> None:
        await asyncio.sleep(QUEUE_DEBOUNCE_SECONDS)
        await self._send_queue(list(self.queue_watchers.values()))

    async def _send_queue(self, watchers: list[Connection]) -> None:
        """One query per distinct view: supervisors share one, each peer worker has their own."""
        views: dict[str, list[dict[str, Any]]] = {}
        for conn in watchers:
            key = "oversight" if conn.principal.has_oversight else conn.principal.id
            if key not in views:
                views[key] = await queue_service.list_queue(self.domain, viewer=conn.principal)
            conn.push(frames.staff_queue_update(views[key]))

    def _on_alert_event(self, data: bytes) -> None:
        event = decode(data)
        alert = event.get("alert")
        if not isinstance(alert, dict):
            return
        frame = frames.staff_alert(alert, resent=bool(event.get("resent")))
        for conn in list(self.alert_watchers.values()):
            conn.push(frame)
        self.crisis.alerts_changed()


def _revoked(conn: Connection, event: dict[str, Any]) -> bool:
    """Whom an access_revoked event concerns: one member, or (a claim) every peer worker but
    the one who claimed. Supervisors keep their oversight access either way."""
    principal = conn.principal
    if principal.has_oversight:
        return False
    if "except_id" in event:
        return principal.role == "peer_worker" and principal.id != event["except_id"]
    return principal.id == event.get("member_id")
