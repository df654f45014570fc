"""Reading what a node stored, for tests that check nothing was lost or duplicated."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.storage.models import Message
from tests.support.server import RunningServer

AUDIT_INSERT = text(
    "INSERT INTO audit_log (at, actor_id, actor_role, action, detail) "
    "VALUES ('2026-01-01 00:00:00', 'x', 'system', :action, '{}')"
)
"""One audit row by plain SQL (bind ``action``): a cheap write for tests of storage itself."""


async def stored_seqs(server: RunningServer, room_id: str) -> list[tuple[int, str | None]]:
    """(seq, client_msg_id) of every message stored in a room, in seq order."""
    query = select(Message.seq, Message.client_msg_id).where(Message.room_id == room_id)
    async with server.domain.db.read() as session:
        rows = await session.execute(query.order_by(Message.seq))
        return [(int(seq), cid) for seq, cid in rows.all()]


async def count_messages(server: RunningServer, room_id: str | None = None) -> int:
    """How many messages are stored, in one room or in all."""
    query = select(func.count()).select_from(Message)
    if room_id is not None:
        query = query.where(Message.room_id == room_id)
    async with server.domain.db.read() as session:
        return int((await session.execute(query)).scalar_one())
