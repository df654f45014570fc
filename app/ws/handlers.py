"""What each client frame does. Domain errors become error frames; the socket stays open."""

from __future__ import annotations

import logging
import time
from typing import Any, assert_never

from app.chat import messages, notes, rooms
from app.core.errors import DomainError
from app.safety import alerts, moderation
from app.storage.errors import storage_unavailable
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
from app.ws.node import WsNode

log = logging.getLogger(__name__)
TYPING_INTERVAL_SECONDS = 2.0


async def on_join(node: WsNode, conn: Connection, frame: JoinFrame) -> None:
    room_id, after_seq, watch = frame.room_id, frame.after_seq, frame.watch
    if conn.principal.is_participant:
        # Read afresh on each join (a block made on another node applies from here on).
        conn.blocked = await moderation.blocked_by(node.domain, conn.principal.id)
    await node.join(
        conn,
        room_id,
        lambda: rooms.join(
            node.domain, principal=conn.principal, room_id=room_id, watch=watch,
            replay_after=after_seq,
        ),
        after_seq,
    )  # fmt: skip


async def on_send(node: WsNode, conn: Connection, frame: SendFrame) -> None:
    room_id = frame.room_id
    if not conn.message_bucket.take():
        raise frames.FrameError(
            "rate_limited", "you are sending too fast; wait a moment and send again"
        )
    posted = await messages.post(
        node.domain,
        sender=conn.principal,
        room_id=room_id,
        client_msg_id=frame.client_msg_id,
        body=frame.body,
        origin=conn.id,
    )
    if not posted.duplicate:
        node.metrics.messages_stored.inc()
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
        node.recovery.fill_gap_later(conn, room_id)


async def on_typing(node: WsNode, conn: Connection, frame: TypingFrame) -> None:
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
    await node.domain.events.room(
        room_id,
        {"event": "typing", "handle": conn.principal.handle, "origin": conn.id,
         "sender_id": conn.principal.id},
    )  # fmt: skip


async def on_leave(node: WsNode, conn: Connection, frame: LeaveFrame) -> None:
    await node.leave(conn, frame.room_id)
    conn.push(frames.encode({"type": "left", "room_id": frame.room_id}))


async def on_subscribe(node: WsNode, conn: Connection, frame: SubscribeFrame) -> None:
    channel = frame.channel
    if not conn.is_staff:
        raise frames.FrameError("forbidden", "only staff can subscribe to this channel")
    if channel == "queue":
        node.staff.watch_queue(conn)
    else:
        if not conn.principal.has_oversight:
            raise frames.FrameError("forbidden", "only supervisors can subscribe to alerts")
        await alerts.record_subscription(node.domain, viewer=conn.principal)
        await node.staff.watch_alerts(conn)
    conn.push(frames.encode({"type": "subscribed", "channel": channel}))


async def on_note(node: WsNode, conn: Connection, frame: NoteFrame) -> None:
    """A staff note on a room: stored, acked, and shown to the staff in the room."""
    if not conn.is_staff:
        raise frames.FrameError("forbidden", "only staff keep notes on a room")
    if not conn.message_bucket.take():
        raise frames.FrameError("rate_limited", "you are sending too fast; wait a moment")
    noted = await notes.add(
        node.domain, author=conn.principal, room_id=frame.room_id,
        client_msg_id=frame.client_msg_id, body=frame.body, origin=conn.id,
    )  # fmt: skip
    conn.push(frames.staff_note_ack(noted.note))


async def dispatch(node: WsNode, conn: Connection, frame: ClientFrame) -> None:
    """One handler per frame type; mypy checks that every member of the union is handled."""
    match frame:
        case JoinFrame():
            await on_join(node, conn, frame)
        case SendFrame():
            await on_send(node, conn, frame)
        case TypingFrame():
            await on_typing(node, conn, frame)
        case LeaveFrame():
            await on_leave(node, conn, frame)
        case SubscribeFrame():
            await on_subscribe(node, conn, frame)
        case NoteFrame():
            await on_note(node, conn, frame)
        case PingFrame():
            conn.push(frames.encode({"type": "pong"}))
        case AuthFrame():
            raise frames.FrameError("bad_request", "already authenticated")
        case _:
            assert_never(frame)


async def handle(node: WsNode, conn: Connection, frame: dict[str, Any]) -> None:
    """Run one frame; a failure is answered to this client alone and the socket stays open."""
    kind = frame["type"]
    context = {
        key: frame[key]
        for key in ("room_id", "client_msg_id")
        if isinstance(frame.get(key), str) and len(frame[key]) <= 64
    }
    try:
        # Storage away: Unavailable (nothing was stored, so the same frame may be sent again).
        with storage_unavailable(f"frame {kind}"):
            await dispatch(node, conn, client_frames.typed(frame))
    except frames.FrameError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
    except DomainError as exc:
        conn.push(frames.error(exc.code, exc.detail, **context))
