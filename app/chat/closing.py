"""Closing a room, written once: staff closing a conversation, a participant leaving theirs,
a group closing, and a participant deleting their data all close rooms this way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.messages import insert_system_message
from app.chat.views import message_view
from app.core.clock import utcnow
from app.core.enums import RoomStatus
from app.core.events import Events
from app.storage.models import Room


async def close_room(
    session: AsyncSession, room: Room, *, by: str, notice: str, at: datetime | None = None
) -> dict[str, Any]:
    """Mark the room closed and tell its members why, in the caller's transaction: the room
    and its last message commit together. Returns the notice, for `announce_closed`."""
    room.status = RoomStatus.CLOSED
    room.closed_at = at or utcnow()
    room.closed_by = by
    return message_view(await insert_system_message(session, room_id=room.id, body=notice))


async def announce_closed(
    events: Events, room_id: str, notice: dict[str, Any], *, queued: bool = True
) -> None:
    """After the commit: the notice, the queue (one-to-one rooms are in it; groups are not),
    and `room_closed`, on which live connections stop posting to the room."""
    await events.message_stored(notice)
    if queued:
        await events.queue_changed(room_id)
    await events.room(room_id, {"event": "room_closed", "room_id": room_id})
