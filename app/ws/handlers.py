"""What each client frame does. Domain errors become error frames; the socket stays open."""

from __future__ import annotations

import logging
import time
from typing import Any, assert_never

from sqlalchemy.exc import SQLAlchemyError

from app.chat import messages, notes, rooms
from app.core.errors import DomainError
from app.safety import alerts, moderation
from app.ws import client_frames, frames
from app.ws.client_frames import (
    AuthFrame,
    ClientFrame,
    JoinFrame,
    LeaveFrame,
    NoteFrame,
    PingFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
)
from app.ws.connection import Connection
from app.ws.hub import Hub

log = logging.getLogger(__name__)
TYPING_INTERVAL_SECONDS = 2.0


async def on_join(hub: Hub, conn: Connection, frame: JoinFrame) -> None:
    room_id, after_seq, watch = frame.room_id, frame.after_seq, frame.watch
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


async def on_send(hub: Hub, conn: Connection, frame: SendFrame) -> None:
    room_id = frame.room_id
    if not conn.message_bucket.take():
        raise frames.FrameError(
            "rate_limited", "you are sending too fast; wait a moment and send again"
        )
    posted = await messages.post(
        hub.domain,
        sender=conn.principal,
        room_id=room_id,
        client_msg_id=frame.client_msg_id,
        body=frame.body,
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


async def on_typing(hub: Hub, conn: Connection, frame: TypingFrame) -> None:
    room_id = frame.room_id
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


async def on_leave(hub: Hub, conn: Connection, frame: LeaveFrame) -> None:
    await hub.leave(conn, frame.room_id)
    conn.push(frames.encode({"type": "left", "room_id": frame.room_id}))


async def on_subscribe(hub: Hub, conn: Connection, frame: SubscribeFrame) -> None:
    channel = frame.channel
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


async def on_note(hub: Hub, conn: Connection, frame: NoteFrame) -> None:
    """A staff note on a room: stored, acked, and shown to the staff in the room."""
    if not conn.is_staff:
        raise frames.FrameError("forbidden", "only staff keep notes on a room")
    if not conn.message_bucket.take():
        raise frames.FrameError("rate_limited", "you are sending too fast; wait a moment")
    noted = await notes.add(
        hub.domain, author=conn.principal, room_id=frame.room_id,
        client_msg_id=frame.client_msg_id, body=frame.body, origin=conn.id,
    )  # fmt: skip
    conn.push(frames.staff_note_ack(noted.note))


async def dispatch(hub: Hub, conn: Connection, frame: ClientFrame) -> None:
    """One handler per frame type; mypy checks that every member of the union is handled."""
    match frame:
        case JoinFrame():
            await on_join(hub, conn, frame)
        case SendFrame():
            await on_send(hub, conn, frame)
        case TypingFrame():
            await on_typing(hub, conn, frame)
        case LeaveFrame():
            await on_leave(hub, conn, frame)
        case SubscribeFrame():
            await on_subscribe(hub, conn, frame)
        case NoteFrame():
            await on_note(hub, conn, frame)
        case PingFrame():
            conn.push(frames.encode({"type": "pong"}))
        case AuthFrame():
            raise frames.FrameError("bad_request", "already authenticated")
        case _:
            assert_never(frame)


async def handle(hub: Hub, conn: Connection, frame: dict[str, Any]) -> None:
    """Run one frame; a failure is answered to this client alone and the socket stays open."""
    kind = frame["type"]
    context = {
        key: frame[key]
        for key in ("room_id", "client_msg_id")
        if isinstance(frame.get(key), str) and len(frame[key]) <= 64
    }
    try:
        await dispatch(hub, conn, client_frames.typed(frame))
    except frames.FrameError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
    except DomainError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
    except (SQLAlchemyError, OSError):
        # Storage is away: nothing was stored, so the client may send the same frame again.
        log.warning("frame %s failed: storage unavailable", kind)
        conn.push(frames.error("unavailable", "could not reach storage; try again", **context))
