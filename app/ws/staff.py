"""Staff feeds: the queue and alerts channels, to the connections that subscribed to them.
Only staff connections are ever added (the subscribe handler checks), and the frames are the
staff builders in frames.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.bus.base import Subscription
from app.chat import queue as queue_service
from app.core.context import Domain
from app.core.enums import AlertStatus
from app.core.events import ALERTS_CHANNEL, QUEUE_CHANNEL, decode
from app.safety import alerts as alert_service
from app.ws import frames
from app.ws.connection import Connection
from app.ws.crisis import CrisisFeeds
from app.ws.hub import Hub

QUEUE_DEBOUNCE_SECONDS = 0.1

log = logging.getLogger(__name__)


class StaffFeeds:
    def __init__(self, hub: Hub, domain: Domain, crisis: CrisisFeeds) -> None:
        self.hub = hub
        self.domain = domain
        self.crisis = crisis
        """Told when the queue or the alerts change (waiting positions, the dashboard)."""
        self.queue_watchers: dict[str, Connection] = {}
        self.alert_watchers: dict[str, Connection] = {}
        self._subs: list[Subscription] = []
        self._queue_refresh: asyncio.Task[None] | None = None
        self._queue_dirty = False
        self._queue_order = asyncio.Lock()
        """Held from a snapshot's read to its push: one read later is never pushed earlier."""

    async def start(self) -> None:
        bus = self.hub.bus
        self._subs.append(await bus.subscribe(QUEUE_CHANNEL, self._on_queue_event))
        self._subs.append(await bus.subscribe(ALERTS_CHANNEL, self._on_alert_event, durable=True))

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.close()
        self._subs.clear()

    def forget(self, conn: Connection) -> None:
        self.queue_watchers.pop(conn.id, None)
        self.alert_watchers.pop(conn.id, None)

    def watch_queue(self, conn: Connection) -> None:
        self.queue_watchers[conn.id] = conn
        self.hub.spawn(self._send_queue([conn]))

    async def watch_alerts(self, conn: Connection) -> None:
        """Every open alert at once, then live ones: a supervisor who was away misses none."""
        self.alert_watchers[conn.id] = conn
        await self._send_open_alerts(conn)

    async def catch_up(self) -> None:
        """After the bus was away: the queue afresh, and every open alert again (alerts raised
        elsewhere meanwhile are in storage)."""
        self._schedule_queue_refresh()
        for conn in list(self.alert_watchers.values()):
            await self._send_open_alerts(conn)

    async def _send_open_alerts(self, conn: Connection) -> None:
        for status in (AlertStatus.ACKNOWLEDGED, AlertStatus.OPEN):
            found = await alert_service.list_alerts(
                self.domain, viewer=conn.principal, status=status, limit=1000
            )
            for alert in reversed(found):
                conn.push(frames.staff_alert(alert))

    def _on_queue_event(self, data: bytes) -> None:
        event = decode(data)
        if event.get("event") == "room_risk":
            # Staff joined to the room have it from the room channel already.
            frame = frames.staff_room_risk(event)
            joined_here = self.hub.rooms.get(event.get("room_id", ""), {})
            for conn in list(self.queue_watchers.values()):
                if conn.id not in joined_here:
                    conn.push(frame)
        self._schedule_queue_refresh()
        self.crisis.queue_changed()

    def _schedule_queue_refresh(self) -> None:
        if not self.queue_watchers:
            return
        self._queue_dirty = True
        if self._queue_refresh is None or self._queue_refresh.done():
            self._queue_refresh = asyncio.create_task(self._debounced_queue())

    async def _debounced_queue(self) -> None:
        """Coalesces bursts; a change that lands while a snapshot is read gets another.

        Without the second read, a change committed just after the read began (a help press
        right after a lowered risk) left every queue showing the state before it until the
        next change, however long that took."""
        while self._queue_dirty:
            await asyncio.sleep(QUEUE_DEBOUNCE_SECONDS)
            self._queue_dirty = False
            await self._send_queue(list(self.queue_watchers.values()))

    async def _send_queue(self, watchers: list[Connection]) -> None:
        """One query per distinct view: supervisors share one, each peer worker has their own."""
        async with self._queue_order:
            views: dict[str, list[dict[str, Any]]] = {}
            for conn in watchers:
                key = "oversight" if conn.principal.has_oversight else conn.principal.id
                if key not in views:
                    try:
                        views[key] = await queue_service.list_queue(
                            self.domain, viewer=conn.principal
                        )
                    except Exception:
                        # Storage away: the next change, or the catch-up after it, reads again.
                        log.warning("the queue could not be read", exc_info=True)
                        return
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
