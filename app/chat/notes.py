"""Staff notes on a room: what staff tell each other about a conversation (a safety plan, who
was called). Never shown to participants, never a message: no seq, not in the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.chat import access
from app.chat.messages import check_client_msg_id, clean_body
from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.errors import Forbidden
from app.core.identity import Principal
from app.storage.models import StaffNote

REDACTED_NOTE = "(removed with the participant's data)"


def note_view(note: StaffNote) -> dict[str, Any]:
    return {
        "room_id": note.room_id,
        "note_id": note.id,
        "client_msg_id": note.client_msg_id,
        "author": {"id": note.author_id, "handle": note.author_handle, "role": note.author_role},
        "body": note.body,
        "sent_at": iso(note.created_at),
    }


@dataclass(frozen=True, slots=True)
class Noted:
    note: dict[str, Any]
    duplicate: bool


async def _require_access(session: Any, principal: Principal, room_id: str) -> None:
    if not principal.is_staff:
        raise Forbidden("only staff keep notes on a room")
    room = await access.load_room(session, room_id)
    member = await access.active_membership(session, room_id, principal.id)
    if not access.can_read(principal, room, member):
        raise Forbidden("you cannot see this room")


async def _existing(
    session: Any, author_id: str, room_id: str, client_msg_id: str
) -> StaffNote | None:
    found: StaffNote | None = (
        await session.execute(
            select(StaffNote).where(
                StaffNote.room_id == room_id,
                StaffNote.author_id == author_id,
                StaffNote.client_msg_id == client_msg_id,
            )
        )
    ).scalar_one_or_none()
    return found


async def add(
    domain: Domain,
    *,
    author: Principal,
    room_id: str,
    client_msg_id: object,
    body: object,
    origin: str | None = None,
) -> Noted:
    """Store a note, then tell the staff in the room. The same client_msg_id again returns the
    note stored the first time and tells no one again."""
    cid = check_client_msg_id(client_msg_id)
    text = clean_body(body, max_chars=domain.settings.max_body_chars)
    try:
        async with domain.db.write() as session:
            await _require_access(session, author, room_id)
            earlier = await _existing(session, author.id, room_id, cid)
            if earlier is not None:
                return Noted(note_view(earlier), duplicate=True)
            note = StaffNote(
                id=new_id("note"),
                room_id=room_id,
                author_id=author.id,
                author_handle=author.handle,
                author_role=author.role,
                client_msg_id=cid,
                body=text,
                created_at=utcnow(),
            )
            session.add(note)
            await session.flush()
            audit.record(session, actor=author, action="note_written", room_id=room_id,
                         target_id=note.id)  # fmt: skip
            view = note_view(note)
    except IntegrityError:
        # The same note sent twice at once (two nodes): the other one was stored.
        async with domain.db.read() as session:
            earlier = await _existing(session, author.id, room_id, cid)
        if earlier is None:
            raise
        return Noted(note_view(earlier), duplicate=True)
    await domain.events.note(room_id, view, origin)
    return Noted(view, duplicate=False)


async def list_notes(
    domain: Domain, *, reader: Principal, room_id: str, limit: int = 500
) -> list[dict[str, Any]]:
    """Oldest first; reading them is audited, as reading a transcript is."""
    async with domain.db.write() as session:
        await _require_access(session, reader, room_id)
        rows = (
            await session.execute(
                select(StaffNote)
                .where(StaffNote.room_id == room_id)
                .order_by(StaffNote.created_at, StaffNote.id)
                .limit(limit)
            )
        ).scalars()
        found = [note_view(n) for n in rows]
        audit.record(session, actor=reader, action="notes_read", room_id=room_id)
    return found
