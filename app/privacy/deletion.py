"""'Delete my data': a participant can leave and take their words with them.

Message rows stay (with the body redacted and the scores cleared) so that every room keeps
its gapless seq and the other people's side of the conversation still makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.closing import announce_closed, close_room
from app.chat.notes import REDACTED_NOTE
from app.chat.notices import Notice, in_language
from app.core import audit
from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import RoomKind, RoomStatus
from app.core.errors import Forbidden
from app.core.identity import Principal
from app.outcomes import checkins
from app.sms import store as sms_store
from app.storage.models import (
    Alert,
    Block,
    Membership,
    Message,
    Participant,
    Report,
    Room,
    StaffNote,
)

REDACTED_BODY = "(deleted by its author)"
REDACTED_REASON = "Raised on words the participant has since deleted."


@dataclass(frozen=True, slots=True)
class Deleted:
    redacted_messages: int
    closed_rooms: list[str]


async def delete_participant(domain: Domain, *, participant: Principal) -> Deleted:
    """One transaction: redact, close, forget, audit. Then tell the rooms that closed."""
    if not participant.is_participant:
        raise Forbidden("only participants delete their data this way")
    pid = participant.id
    async with domain.db.write() as session:
        now = utcnow()
        written = await _redact_messages(session, pid, now)
        own_rooms = await _own_rooms(session, pid)
        forgotten_alerts = await _redact_alerts(session, own_rooms, written)
        await _redact_notes(session, own_rooms)
        # Closed first: each notice is written in its room's language, which is then forgotten.
        closed = await _close_open_rooms(session, pid, now)
        await _forget_details(session, pid)
        member_of = await _leave_everywhere(session, pid)
        audit.record(
            session,
            actor=participant,
            action="participant_data_deleted",
            target_id=pid,
            redacted_messages=len(written),
            closed_rooms=list(closed),
        )
    # The bus keeps alerts for nodes that were away (a Redis stream): those go too.
    await domain.events.forget_alerts(set(forgotten_alerts), set(own_rooms))
    for room_id, notice in closed.items():
        await announce_closed(domain.events, room_id, notice)
    for room_id in member_of:  # their open sockets stop receiving these rooms at once
        await domain.events.access_revoked(room_id, pid)
    return Deleted(redacted_messages=len(written), closed_rooms=list(closed))


async def _redact_messages(session: AsyncSession, pid: str, now: datetime) -> list[tuple[str, int]]:
    """Their messages keep their place (room and seq, returned) and lose their words."""
    own = select(Message.room_id, Message.seq).where(Message.sender_id == pid)
    written = [(room_id, seq) for room_id, seq in (await session.execute(own)).all()]
    await session.execute(
        update(Message)
        .where(Message.sender_id == pid)
        .values(
            body=REDACTED_BODY,
            client_msg_id=None,
            sentiment_label=None,
            sentiment_score=None,
            emotions=None,
            risk_level=None,
            risk_reasons=None,
            # Marked as scored, so that monitoring never reads the redacted text.
            scored_at=func.coalesce(Message.scored_at, now),
        )
    )
    return written


async def _own_rooms(session: AsyncSession, pid: str) -> list[str]:
    return list((await session.execute(select(Room.id).where(Room.created_by == pid))).scalars())


async def _redact_alerts(
    session: AsyncSession, own_rooms: list[str], written: list[tuple[str, int]]
) -> list[str]:
    """Alerts quote the participant: the excerpt, the reason (matched words in quotes), any
    model evidence, and staff notes written on resolving them. Every alert raised on their
    words, and every alert of their own conversations, keeps only its facts."""
    quoted: list[ColumnElement[bool]] = []
    if own_rooms:
        quoted.append(Alert.room_id.in_(own_rooms))
    if written:
        quoted.append(tuple_(Alert.room_id, Alert.message_seq).in_(written))
    if not quoted:
        return []
    redacted_alert: dict[str, Any] = {
        "reason": REDACTED_REASON, "excerpt": "", "resolution_notes": None,
    }  # fmt: skip
    if hasattr(Alert, "evidence"):  # model evidence, where the schema keeps it
        redacted_alert["evidence"] = None
    return list(
        (
            await session.execute(
                update(Alert).where(or_(*quoted)).values(**redacted_alert).returning(Alert.id)
            )
        ).scalars()
    )


async def _redact_notes(session: AsyncSession, own_rooms: list[str]) -> None:
    """Staff notes on their conversations are about them, and may quote them."""
    if own_rooms:
        await session.execute(
            update(StaffNote).where(StaffNote.room_id.in_(own_rooms)).values(body=REDACTED_NOTE)
        )


async def _forget_details(session: AsyncSession, pid: str) -> None:
    """Their request's note, topic and language, and the notes staff closed it with; their
    reports' reasons, their blocks, check-ins and phone."""
    await session.execute(
        update(Room)
        .where(Room.created_by == pid)
        .values(note=None, topic=None, language=None, close_notes=None)
    )
    await session.execute(update(Report).where(Report.reported_by == pid).values(reason=None))
    await session.execute(
        delete(Block).where(or_(Block.blocker_id == pid, Block.blocked_id == pid))
    )
    await checkins.forget_participant(session, participant_id=pid)
    await sms_store.forget_participant(session, participant_id=pid)


async def _close_open_rooms(
    session: AsyncSession, pid: str, now: datetime
) -> dict[str, dict[str, Any]]:
    """Their open one-to-one conversations end; each room's closing notice, by room id."""
    open_rooms = (
        await session.execute(
            select(Room)
            .join(Membership, Membership.room_id == Room.id)
            .where(
                Membership.member_id == pid,
                Membership.left_at.is_(None),
                Room.kind == RoomKind.ONE_TO_ONE,
                Room.status != RoomStatus.CLOSED,
            )
            .with_for_update()
        )
    ).scalars()
    return {
        room.id: await close_room(
            session,
            room,
            by=pid,
            notice=in_language(Notice.PARTICIPANT_DELETED, room.language),
            at=now,
        )
        for room in open_rooms
    }


async def _leave_everywhere(session: AsyncSession, pid: str) -> list[str]:
    """The rooms they were still in (to revoke live access), then no trace of them."""
    member_of = list(
        (
            await session.execute(
                select(Membership.room_id).where(
                    Membership.member_id == pid, Membership.left_at.is_(None)
                )
            )
        ).scalars()
    )
    await session.execute(delete(Membership).where(Membership.member_id == pid))
    await session.execute(delete(Participant).where(Participant.id == pid))
    return member_of
