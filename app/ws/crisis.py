"""The crisis loop's live frames on this node: support offers to a participant, a waiting
participant's place in the queue, staff notes and help requests in a room, and the supervisors'
dashboard. Kept apart from the hub, which only calls in: each function here is small and reads
the hub's connections through the narrow view below."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from app.chat import waiting as waiting_service
from app.core.context import Domain
from app.core.events import decode
from app.core.identity import Principal
from app.safety import dashboard as dashboard_service
from app.ws import frames
from app.ws.connection import Connection

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.1
DASHBOARD_DEBOUNCE_SECONDS = 0.2


class HubView(Protocol):
    """What these feeds read of the hub (app.ws.hub.Hub has it all)."""

    domain: Domain
    connections: dict[str, Connection]
    rooms: dict[str, dict[str, Connection]]
    alert_watchers: dict[str, Connection]

    def spawn(self, coro: Any) -> None: ...


class CrisisFeeds:
    def __init__(self, hub: HubView) -> None:
        self.hub = hub
        self._watching: dict[tuple[str, str], Connection] = {}
        """(connection id, room id) of participants joined to their waiting request."""
        self._waiting_sent: dict[tuple[str, str], int] = {}
        """(connection id, room id) -> the position last sent, so only changes are sent."""
        self._waiting_task: asyncio.Task[None] | None = None
        self._waiting_dirty = False
        self._dashboard_task: asyncio.Task[None] | None = None
        self._dashboard_dirty = False

    # support offers: to one participant's connections, whichever rooms they have joined

    def on_people_event(self, data: bytes) -> None:
        event = decode(data)
        if event.get("event") != "support":
            return
        frame = frames.support(event)
        for conn in list(self.hub.connections.values()):
            if conn.principal.id == event.get("to") and conn.principal.is_participant:
                conn.push(frame)

    # staff news in a room

    def on_room_event(self, room_id: str, event: dict[str, Any]) -> bool:
        """Handle the crisis loop's room events; False for any other kind."""
        kind = event.get("event")
        members = self.hub.rooms.get(room_id) or {}
        if kind == "note":
            frame = frames.staff_note(event["note"])
            for conn in list(members.values()):
                if conn.is_staff and conn.id != event.get("origin"):
                    conn.push(frame)
            return True
        if kind == "help_requested":
            frame = frames.staff_help_requested(event)
            for conn in list(members.values()):
                if conn.is_staff:
                    conn.push(frame)
            return True
        return False

    # a waiting participant's place in the queue

    async def send_waiting(self, conn: Connection, room_id: str) -> None:
        """On joining: the participant's standing now, if their request is waiting; from then
        on this connection is watched until the request stops waiting or it leaves."""
        if not conn.principal.is_participant:
            return
        found = await waiting_service.standings(self.hub.domain, {room_id})
        standing = found.get(room_id)
        if standing is not None and room_id in conn.rooms:
            self._watching[(conn.id, room_id)] = conn
            self._waiting_sent[(conn.id, room_id)] = standing.position
            conn.push(frames.waiting(room_id, standing.position, standing.estimated_wait_seconds))

    def queue_changed(self) -> None:
        """Claims, new requests, withdrawals and risk changes move places: re-check them."""
        self._waiting_dirty = True
        if (self._waiting_task is None or self._waiting_task.done()) and self._watching:
            self._waiting_task = asyncio.create_task(self._refresh_waiting())
        self.alerts_changed()

    def _waiting_participants(self) -> list[tuple[Connection, str]]:
        for key, conn in list(self._watching.items()):
            if conn.closing or key[1] not in conn.rooms:
                self._forget_key(key)
        return [(conn, room_id) for (_, room_id), conn in self._watching.items()]

    def _forget_key(self, key: tuple[str, str]) -> None:
        self._watching.pop(key, None)
        self._waiting_sent.pop(key, None)

    async def _refresh_waiting(self) -> None:
        """Coalesces bursts; a change that lands while one refresh runs gets another."""
        while self._waiting_dirty:
            self._waiting_dirty = False
            await asyncio.sleep(DEBOUNCE_SECONDS)
            await self._refresh_waiting_once()

    async def _refresh_waiting_once(self) -> None:
        watching = self._waiting_participants()
        if not watching:
            return
        try:
            found = await waiting_service.standings(
                self.hub.domain, {room_id for _, room_id in watching}
            )
        except Exception:
            log.warning("waiting positions could not be read", exc_info=True)
            return
        for conn, room_id in watching:
            standing = found.get(room_id)
            key = (conn.id, room_id)
            if standing is None:
                self._forget_key(key)  # claimed or closed: no longer waiting
            elif self._waiting_sent.get(key) != standing.position:
                self._waiting_sent[key] = standing.position
                conn.push(
                    frames.waiting(room_id, standing.position, standing.estimated_wait_seconds)
                )

    def forget(self, conn: Connection) -> None:
        for key in [k for k in self._watching if k[0] == conn.id]:
            self._forget_key(key)

    # the supervisors' dashboard

    def alerts_changed(self) -> None:
        """An alert or the queue changed: supervisors watching alerts get fresh counts."""
        self._dashboard_dirty = True
        if self.hub.alert_watchers and (
            self._dashboard_task is None or self._dashboard_task.done()
        ):
            self._dashboard_task = asyncio.create_task(self._send_dashboard())

    async def _send_dashboard(self) -> None:
        while self._dashboard_dirty:
            self._dashboard_dirty = False
            await asyncio.sleep(DASHBOARD_DEBOUNCE_SECONDS)
            await self._send_dashboard_once()

    async def _send_dashboard_once(self) -> None:
        watchers = list(self.hub.alert_watchers.values())
        if not watchers:
            return
        viewer: Principal = watchers[0].principal
        try:
            snapshot = await dashboard_service.snapshot(self.hub.domain, viewer=viewer)
        except Exception:
            log.warning("dashboard could not be read", exc_info=True)
            return
        frame = frames.staff_dashboard(snapshot)
        for conn in watchers:
            conn.push(frame)
