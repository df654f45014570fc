"""Posting and reading messages: stored first, gapless per-room seq, idempotent resends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.chat.sequencer import RoomSequencer
from app.chat.views import message_view
from app.core import audit
from app.core.clock import new_id, utcnow
from app.core.context import Domain
from app.core.enums import Role
from app.core.errors import BadRequest, Forbidden, TooLarge
from app.core.identity import Principal
from app.core.text import clean_text
from app.storage.models import Block, Message

SYSTEM_SENDER = Principal(id="system", role=Role.PARTICIPANT, handle="peerchat")
MAX_CLIENT_MSG_ID = 64


MAX_SEQ = 2**53
"""after_seq and limit beyond this are refused: the contract's bound (JSON-safe integers)."""
_STORED_SEQ_MAX = 2**31 - 1
"""seq is a 32-bit column; asking past it is asking past every message."""


def check_seq(value: int, *, field: str) -> int:
    if not 0 <= value <= MAX_SEQ:
        raise BadRequest(f"{field} must be a whole number from 0 to 2^53")
    return value


def clean_body(body: object, *, max_chars: int) -> str:
    """Strip control and direction-override characters (they can disguise text), keep newlines
    and tabs, and refuse empty or oversized bodies."""
    if not isinstance(body, str):
        raise BadRequest("body must be a string")
    if len(body) > max_chars * 4:  # don't normalise megabytes just to refuse them
        raise TooLarge(f"body is longer than {max_chars} characters")
    cleaned = clean_text(body)
    if not cleaned:
        raise BadRequest("body is empty")
    if len(cleaned) > max_chars:
        raise TooLarge(f"body is longer than {max_chars} characters")
    return cleaned


def check_client_msg_id(client_msg_id: object) -> str:
    if (
        not isinstance(client_msg_id, str)
        or not 1 <= len(client_msg_id) <= MAX_CLIENT_MSG_ID
        or "\x00" in client_msg_id  # PostgreSQL text cannot hold NUL
    ):
        raise BadRequest(f"client_msg_id must be a string of 1 to {MAX_CLIENT_MSG_ID} characters")
    return client_msg_id


@dataclass(frozen=True, slots=True)
class Posted:
    message: dict[str, Any]
    duplicate: bool


async def insert_message(
    session: AsyncSession,
    *,
    room_id: str,
    sender: Principal,
    body: str,
    client_msg_id: str | None = None,
    sender_role: str | None = None,
) -> Message:
    """Take the room's next seq and insert, inside the caller's transaction, so that a
    rolled-back insert leaves no gap (see RoomSequencer)."""
    seq = await RoomSequencer.next(session, room_id)
    message = Message(
        id=new_id("msg"),
        room_id=room_id,
        seq=seq,
        sender_id=sender.id,
        sender_handle=sender.handle,
        sender_role=sender_role or sender.role,
        client_msg_id=client_msg_id,
        body=body,
        sent_at=utcnow(),
    )
    session.add(message)
    await session.flush()
    return message


async def insert_system_message(session: AsyncSession, *, room_id: str, body: str) -> Message:
    return await insert_message(
        session, room_id=room_id, sender=SYSTEM_SENDER, body=body, sender_role="system"
    )


async def post(
    domain: Domain,
    *,
    sender: Principal,
    room_id: str,
    client_msg_id: object,
    body: object,
    origin: str | None = None,
) -> Posted:
    """Store a message, then announce it. A resent client_msg_id returns the original.

    origin names the connection that sent it, so that fan-out can skip it (it gets the ack)."""
    client_msg_id = check_client_msg_id(client_msg_id)
    text = clean_body(body, max_chars=domain.settings.max_body_chars)
    view, duplicate = await domain.writer.submit(
        sender=sender, room_id=room_id, client_msg_id=client_msg_id, body=text, origin=origin
    )
    return Posted(view, duplicate=duplicate)


async def history(
    domain: Domain, *, reader: Principal, room_id: str, after_seq: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    check_seq(after_seq, field="after_seq")
    if not 1 <= limit <= domain.settings.history_page_max:
        raise BadRequest(f"limit must be between 1 and {domain.settings.history_page_max}")
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        member = await access.active_membership(session, room_id, reader.id)
        if not access.can_read(reader, room, member):
            raise Forbidden("you cannot read this room")
        # A participant's blocks hide the blocked people's messages from them, and only them.
        hidden = (
            select(Block.blocked_id).where(Block.blocker_id == reader.id)
            if reader.is_participant
            else None
        )
        rows = await messages_after(
            session, room_id=room_id, after_seq=after_seq, limit=limit, hidden_senders=hidden
        )
        if reader.is_staff:
            audit.record(
                session,
                actor=reader,
                action="transcript_read",
                room_id=room_id,
                after_seq=after_seq,
                count=len(rows),
            )
    return [message_view(m) for m in rows]


async def messages_after(
    session: AsyncSession,
    *,
    room_id: str,
    after_seq: int,
    limit: int,
    hidden_senders: Select[Any] | None = None,
) -> list[Message]:
    after_seq = min(after_seq, _STORED_SEQ_MAX)
    query = select(Message).where(Message.room_id == room_id, Message.seq > after_seq)
    if hidden_senders is not None:
        query = query.where(Message.sender_id.not_in(hidden_senders))
    return list((await session.execute(query.order_by(Message.seq).limit(limit))).scalars())
