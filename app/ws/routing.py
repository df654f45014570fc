"""Room events from the bus -> frames for this node's connections in the room.

One table, ``ROOM_ROUTES``, from event kind to what is sent to whom. A frame every member may
see is ``to_members(builder)``; a staff-only one is ``to_staff(builder)``, the one place that
filters by role, so that adding a frame kind is one entry. Called on the event loop for every
event: a route must not block or await (it spawns what needs storage).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.events import decode
from app.ws import frames
from app.ws.connection import Connection
from app.ws.hub import Hub
from app.ws.presence import PresenceFeed
from app.ws.recovery import Recovery

Revoke = Callable[[Connection, str], None]
Event = dict[str, Any]
Members = list[Connection]


class Router:
    def __init__(
        self, hub: Hub, recovery: Recovery, presence: PresenceFeed, *, revoke: Revoke
    ) -> None:
        self.hub = hub
        self.recovery = recovery
        self.presence = presence
        self.revoke = revoke

    def on_room_event(self, room_id: str, data: bytes) -> None:
        members = self.hub.rooms.get(room_id)
        if not members:
            return
        event = decode(data)
        route = ROOM_ROUTES.get(str(event.get("event")))
        if route is not None:
            route(self, room_id, event, list(members.values()))


RoomRoute = Callable[[Router, str, Event, Members], None]


def to_members(build: Callable[[str, dict[str, Any]], str]) -> RoomRoute:
    """A frame every member of the room may see, built once from (room id, event)."""

    def route(router: Router, room_id: str, event: Event, members: Members) -> None:
        frame = build(room_id, event)
        for conn in members:
            conn.push(frame)

    return route


def to_staff(build: Callable[[dict[str, Any]], str], *, skip_origin: bool = False) -> RoomRoute:
    """A frame for the room's staff only (scores, reports, notes): never to a participant.
    skip_origin: not to the connection it came from (it has its own ack)."""

    def route(router: Router, room_id: str, event: Event, members: Members) -> None:
        frame = build(event)
        origin = event.get("origin") if skip_origin else None
        for conn in members:
            if conn.is_staff and (origin is None or conn.id != origin):
                conn.push(frame)

    return route


def _message(router: Router, room_id: str, event: Event, members: Members) -> None:
    """In seq order per connection; one that arrives early waits briefly for the gap to fill,
    then storage is asked (recovery). The sender's own connection has its ack instead."""
    view = event["message"]
    seq = int(view["seq"])
    frame = frames.message(view)
    sender = view["sender"]["id"]
    origin = event.get("origin")
    for conn in members:
        shown = frame if conn.sees(sender) else ""  # still counted, so no gap opens
        if conn.id != origin and conn.offer(room_id, seq, shown):
            router.recovery.fill_gap_later(conn, room_id)


def _typing(router: Router, room_id: str, event: Event, members: Members) -> None:
    frame = frames.typing(room_id, str(event.get("handle", "")))
    origin = event.get("origin")
    for conn in members:
        if conn.id != origin and conn.sees(event.get("sender_id")):
            conn.push(frame)


def _presence_changed(router: Router, room_id: str, event: Event, members: Members) -> None:
    router.presence.changed(room_id)


def _blocked(router: Router, room_id: str, event: Event, members: Members) -> None:
    for conn in members:
        if conn.principal.id == event.get("blocker_id"):
            conn.blocked.add(str(event.get("blocked_id")))


def _access_revoked(router: Router, room_id: str, event: Event, members: Members) -> None:
    for conn in members:
        if revoked(conn, event):
            router.revoke(conn, room_id)


def revoked(conn: Connection, event: Event) -> bool:
    """Whom an access_revoked event concerns: one member, or (a claim) every peer worker but
    the one who claimed. Supervisors keep their oversight access either way."""
    principal = conn.principal
    if principal.has_oversight:
        return False
    if "except_id" in event:
        return principal.role == "peer_worker" and principal.id != event["except_id"]
    return principal.id == event.get("member_id")


ROOM_ROUTES: dict[str, RoomRoute] = {
    "message": _message,
    "typing": _typing,
    "presence_changed": _presence_changed,
    "blocked": _blocked,
    "access_revoked": _access_revoked,
    "room_closed": to_members(lambda room_id, event: frames.room_closed(room_id)),
    "room_risk": to_staff(frames.staff_room_risk),
    "report": to_staff(frames.staff_report),
    "note": to_staff(lambda event: frames.staff_note(event["note"]), skip_origin=True),
    "help_requested": to_staff(frames.staff_help_requested),
}
