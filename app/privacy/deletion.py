"""'Delete my data': a participant can leave and take their words with them.

Message rows stay (with the body redacted and the scores cleared) so that every room keeps
its gapless seq and the other people's side of the conversation still makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_, update

from app.chat.messages import insert_system_message
from app.chat.notices import Notice, in_language
from app.chat.views import message_view
from app.core import audit
from app.core.clock import utcnow
from app.core.context import Domain
from app.core.errors import Forbidden
from app.core.identity import Principal
from app.outcomes import checkins
from app.sms import store as sms_store
from app.storage.models import Alert, Block, Membership, Message, Participant, Report, Room

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
    notices: list[dict[str, Any]] = []
    async with domain.db.write() as session:
        now = utcnow()
        own = select(Message.room_id, Message.seq).where(Message.sender_id == pid)
        written = [(room_id, seq) for room_id, seq in (await session.execute(own)).all()]
        redacted = len(written)
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
        # Alerts quote the participant: the excerpt, the reason (matched words in quotes), any
        # model evidence, and staff notes written on resolving them. Every alert raised on their
        # words, and every alert of their own conversations, keeps only its facts.
        own_rooms = list(
            (await session.execute(select(Room.id).where(Room.created_by == pid))).scalars()
        )
        quoted: list[ColumnElement[bool]] = []
        if own_rooms:
            quoted.append(Alert.room_id.in_(own_rooms))
        if written:
            quoted.append(tuple_(Alert.room_id, Alert.message_seq).in_(written))
        forgotten_alerts: list[str] = []
        if quoted:
            redacted_alert: dict[str, Any] = {
                "reason": REDACTED_REASON, "excerpt": "", "resolution_notes": None,
            }  # fmt: skip
            if hasattr(Alert, "evidence"):  # model evidence, where the schema keeps it
                redacted_alert["evidence"] = None
            forgotten_alerts = list(
                (
                    await session.execute(
                        update(Alert)
                        .where(or_(*quoted))
                        .values(**redacted_alert)
                        .returning(Alert.id)
                    )
                ).scalars()
            )
        # Their request's note, topic and language, and the notes staff closed it with.
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
        open_rooms = list(
            (
                await session.execute(
                    select(Room)
                    .join(Membership, Membership.room_id == Room.id)
                    .where(
                        Membership.member_id == pid,
                        Membership.left_at.is_(None),
                        Room.kind == "one_to_one",
                        Room.status != "closed",
                    )
                    .with_for_update()
                )
            ).scalars()
        )
        for room in open_rooms:
            room.status = "closed"
            room.closed_at = now
            room.closed_by = pid
            ended = await insert_system_message(
                session,
                room_id=room.id,
                body=in_language(Notice.PARTICIPANT_DELETED, room.language),
            )
            notices.append(message_view(ended))
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
        audit.record(
            session,
            actor=participant,
            action="participant_data_deleted",
            target_id=pid,
            redacted_messages=redacted,
            closed_rooms=[room.id for room in open_rooms],
        )
    # The bus keeps alerts for nodes that were away (a Redis stream): those go too.
    await domain.events.forget_alerts(set(forgotten_alerts), set(own_rooms))
    closed = [room.id for room in open_rooms]
    for message in notices:
        await domain.events.message_stored(message)
    for room_id in closed:
        await domain.events.room(room_id, {"event": "room_closed", "room_id": room_id})
        await domain.events.queue_changed(room_id)
    for room_id in member_of:  # their open sockets stop receiving these rooms at once
        await domain.events.access_revoked(room_id, pid)
    return Deleted(redacted_messages=int(redacted or 0), closed_rooms=closed)
