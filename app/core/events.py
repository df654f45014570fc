"""News the domain publishes on the bus, encoded once per event (not once per recipient)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from app.bus.base import Bus

QUEUE_CHANNEL = "staff:queue"
ALERTS_CHANNEL = "staff:alerts"
PEOPLE_CHANNEL = "people"
"""News for one person's connections wherever they are (every node listens): a support offer."""


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def encode(event: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event)


def decode(data: bytes) -> dict[str, Any]:
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError("bus event is not an object")
    return value


MessageListener = Callable[[dict[str, Any]], None]
"""Told of each message stored on this node (monitoring scores it); never awaited by send."""


class Events:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._message_listeners: list[MessageListener] = []

    def on_message_stored(self, listener: MessageListener) -> None:
        self._message_listeners.append(listener)

    async def message_stored(self, message: dict[str, Any], origin: str | None = None) -> None:
        event = {"event": "message", "message": message, "origin": origin}
        await self.bus.publish(room_channel(message["room_id"]), encode(event))
        for listener in self._message_listeners:
            listener(message)

    async def room(self, room_id: str, event: Mapping[str, Any]) -> None:
        await self.bus.publish(room_channel(room_id), encode(event))

    async def access_revoked(self, room_id: str, member_id: str) -> None:
        """The member's live connections stop receiving the room, on every node."""
        await self.bus.publish(
            room_channel(room_id),
            encode({"event": "access_revoked", "room_id": room_id, "member_id": member_id}),
            urgent=True,
        )

    async def claimed(self, room_id: str, worker_id: str) -> None:
        """Every other peer worker looking at the room before it was claimed stops receiving
        it, on every node; supervisors keep their oversight access."""
        await self.bus.publish(
            room_channel(room_id),
            encode({"event": "access_revoked", "room_id": room_id, "except_id": worker_id}),
            urgent=True,
        )

    async def queue_changed(self, room_id: str) -> None:
        await self.bus.publish(
            QUEUE_CHANNEL, encode({"event": "queue_changed", "room_id": room_id})
        )

    async def alert(self, alert: Mapping[str, Any], *, resent: bool = False) -> None:
        event = {"event": "alert", "alert": alert, "resent": resent}
        await self.bus.publish(ALERTS_CHANNEL, encode(event), durable=True)

    async def forget_alerts(self, alert_ids: set[str], room_ids: set[str]) -> int:
        """Delete kept alert events naming these alerts or rooms ("delete my data")."""
        if not alert_ids and not room_ids:
            return 0

        def match(data: bytes) -> bool:
            try:
                alert = decode(data).get("alert") or {}
            except ValueError:
                return False
            return alert.get("alert_id") in alert_ids or alert.get("room_id") in room_ids

        return await self.bus.forget(ALERTS_CHANNEL, match)

    async def room_risk(self, room_id: str, event: Mapping[str, Any]) -> None:
        """To staff in the room (room channel) and to staff watching the queue."""
        data = encode(event)
        await self.bus.publish(room_channel(room_id), data)
        await self.bus.publish(QUEUE_CHANNEL, data)

    async def support(self, participant_id: str, offer: Mapping[str, Any]) -> None:
        """Crisis resources for one participant, to their connections on every node."""
        event = {"event": "support", "to": participant_id, **offer}
        await self.bus.publish(PEOPLE_CHANNEL, encode(event), urgent=True)

    async def note(self, room_id: str, note: Mapping[str, Any], origin: str | None) -> None:
        """A staff note, to the staff joined to the room on every node (never participants)."""
        event = {"event": "note", "room_id": room_id, "note": note, "origin": origin}
        await self.bus.publish(room_channel(room_id), encode(event))
