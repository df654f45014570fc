"""What each client frame does. Domain errors become error frames; the socket stays open."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.chat import messages, notes, rooms
from app.core.errors import DomainError
from app.safety import alerts, moderation
from app.ws import frames
from app.ws.connection import Connection
from app.ws.hub import Hub

log = logging.getLogger(__name__)
TYPING_INTERVAL_SECONDS = 2.0
Handler = Callable[[Hub, Connection, dict[str, Any]], Awaitable[None]]


async def on_join(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    room_id = frames.room_id_of(frame)
    after_seq = frames.optional_seq(frame, "after_seq")
    watch = frame.get("watch")
    if watch is not None and not isinstance(watch, bool):
        raise frames.FrameError("bad_request", "watch must be true or false")
    if conn.principal.is_participant:
        # Read afresh on each join (a block made on another node applies from here on).
        conn.blocked = await moderation.blocked_by(hub.domain, conn.principal.id)
    await hub.join(
        conn,
        room_id,
        lambda: rooms.join(
            hub.domain, principal=conn.principal, room_id=room_id, watch=watch,
            replay_after=after_seq,
        ),
        after_seq,
    )  # fmt: skip


async def on_send(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    room_id = frames.room_id_of(frame)
    client_msg_id = frame.get("client_msg_id")
    if not conn.message_bucket.take():
        raise frames.FrameError(
            "rate_limited", "you are sending too fast; wait a moment and send again"
        )
    posted = await messages.post(
        hub.domain,
        sender=conn.principal,
        room_id=room_id,
        client_msg_id=client_msg_id,
        body=frame.get("body"),
        origin=conn.id,
    )
    if not posted.duplicate:
        hub.metrics.messages_stored.inc()
    message = posted.message
    conn.push(
        frames.encode(
            {
                "type": "ack",
                "room_id": room_id,
                "client_msg_id": message["client_msg_id"],
                "seq": message["seq"],
                "message_id": message["message_id"],
                "sent_at": message["sent_at"],
            }
        )
    )
    # The sender's own cursor moves past its message, so a resume after it does not repeat it.
    if conn.passed_own(room_id, message["seq"]):
        hub.fill_gap_later(conn, room_id)


async def on_typing(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    room_id = frames.room_id_of(frame)
    cursor = conn.rooms.get(room_id)
    if cursor is None:
        raise frames.FrameError("bad_request", "join the room first")
    if cursor.silent:
        return
    now = time.monotonic()
    if now - conn.last_typing.get(room_id, 0.0) < TYPING_INTERVAL_SECONDS:
        return
    conn.last_typing[room_id] = now
    await hub.domain.events.room(
        room_id,
        {"event": "typing", "handle": conn.principal.handle, "origin": conn.id,
         "sender_id": conn.principal.id},
    )  # fmt: skip


async def on_leave(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    room_id = frames.room_id_of(frame)
    await hub.leave(conn, room_id)
    conn.push(frames.encode({"type": "left", "room_id": room_id}))


async def on_subscribe(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    channel = frame.get("channel")
    if channel not in ("queue", "alerts"):
        raise frames.FrameError("bad_request", "channel must be 'queue' or 'alerts'")
    if not conn.is_staff:
        raise frames.FrameError("forbidden", "only staff can subscribe to this channel")
    if channel == "queue":
        hub.watch_queue(conn)
    else:
        if not conn.principal.has_oversight:
            raise frames.FrameError("forbidden", "only supervisors can subscribe to alerts")
        await alerts.record_subscription(hub.domain, viewer=conn.principal)
        await hub.watch_alerts(conn)
    conn.push(frames.encode({"type": "subscribed", "channel": channel}))


async def on_note(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    """A staff note on a room: stored, acked, and shown to the staff in the room."""
    room_id = frames.room_id_of(frame)
    if not conn.is_staff:
        raise frames.FrameError("forbidden", "only staff keep notes on a room")
    if not conn.message_bucket.take():
        raise frames.FrameError("rate_limited", "you are sending too fast; wait a moment")
    noted = await notes.add(
        hub.domain, author=conn.principal, room_id=room_id,
        client_msg_id=frame.get("client_msg_id"), body=frame.get("body"), origin=conn.id,
    )  # fmt: skip
    conn.push(frames.staff_note_ack(noted.note))


async def on_ping(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    conn.push(frames.encode({"type": "pong"}))


async def on_auth(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    raise frames.FrameError("bad_request", "already authenticated")


HANDLERS: dict[str, Handler] = {
    "join": on_join,
    "send": on_send,
    "typing": on_typing,
    "leave": on_leave,
    "subscribe": on_subscribe,
    "ping": on_ping,
    "note": on_note,
    "auth": on_auth,
}


async def handle(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    """Run one frame; a failure is answered to this client alone and the socket stays open."""
    kind = frame["type"]
    context = {
        key: frame[key]
        for key in ("room_id", "client_msg_id")
        if isinstance(frame.get(key), str) and len(frame[key]) <= 64
    }
    try:
        await HANDLERS[kind](hub, conn, frame)
    except frames.FrameError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
    except DomainError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
    except (SQLAlchemyError, OSError):
        # Storage is away: nothing was stored, so the client may send the same frame again.
        log.warning("frame %s failed: storage unavailable", kind)
        conn.push(frames.error("unavailable", "could not reach storage; try again", **context))
