"""Outcomes of one-to-one conversations: how long people waited, how long they talked, what the
model saw, which alerts were raised, and how the participant felt before and after.

The same facts feed three readers: a supervisor or the assigned worker looking at one
conversation, a peer worker looking at their own recent work (to keep healthy boundaries),
and the programme view (app/outcomes/insights.py), which only ever shows them in aggregate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.staff import active_rooms
from app.chat import access
from app.core import audit
from app.core.clock import iso, utcnow
from app.core.context import Domain
from app.core.enums import STAFF_ROLES, AlertSeverity, Role, RoomKind
from app.core.errors import BadRequest, Forbidden
from app.core.identity import Principal
from app.storage.models import Alert, AuditEntry, CheckIn, Message, Room, User

RECENT_LIMIT = 20
_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
SEVERITIES = tuple(severity.value for severity in AlertSeverity)


@dataclass(slots=True)
class Conversation:
    """What storage knows about one one-to-one conversation, gathered in a few queries."""

    room_id: str
    status: str
    topic: str | None
    assigned_to: str | None
    created_at: datetime
    waiting_since: datetime | None
    claimed_at: datetime | None
    """The first claim. A transfer moves rooms.claimed_at on to the new worker, so the first
    claim is read from the audit log, falling back to rooms.claimed_at."""
    closed_at: datetime | None
    alerts: dict[str, int] = field(default_factory=dict)
    first_alert_at: datetime | None = None
    first_ack_at: datetime | None = None
    mood_before: int | None = None
    mood_after: int | None = None
    comments: dict[str, str | None] = field(default_factory=dict)

    @property
    def wait_seconds(self) -> float | None:
        if self.claimed_at is None:
            return None
        start = self.waiting_since or self.created_at
        return max(0.0, (self.claimed_at - start).total_seconds())

    def active_span(self, now: datetime) -> tuple[datetime, datetime] | None:
        """From the first claim to the close (or now, while it goes on; a view of the past
        sees only what had happened by then)."""
        if self.claimed_at is None:
            return None
        end = min(self.closed_at, now) if self.closed_at else now
        return (self.claimed_at, max(end, self.claimed_at))

    def duration_seconds(self, now: datetime) -> float | None:
        span = self.active_span(now)
        return None if span is None else (span[1] - span[0]).total_seconds()

    @property
    def ack_seconds(self) -> float | None:
        """From the first alert raised in the room to the first acknowledgement of any of its
        alerts: how long the participant waited for a supervisor to look."""
        if self.first_alert_at is None or self.first_ack_at is None:
            return None
        return max(0.0, (self.first_ack_at - self.first_alert_at).total_seconds())

    @property
    def alert_count(self) -> int:
        return sum(self.alerts.values())

    @property
    def mood_change(self) -> int | None:
        if self.mood_before is None or self.mood_after is None:
            return None
        return self.mood_after - self.mood_before


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


async def load_conversations(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    order_by: Sequence[Any] = (Room.created_at,),
    limit: int | None = None,
) -> list[Conversation]:
    """One-to-one rooms matching the conditions, with their claims, alerts and check-ins."""
    found = await _rooms(session, conditions, order_by, limit)
    for ids in _chunks(list(found)):
        await _add_claims(session, found, ids)
        await _add_alerts(session, found, ids)
        await _add_checkins(session, found, ids)
    return list(found.values())


async def _rooms(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int | None,
) -> dict[str, Conversation]:
    query = (
        select(
            Room.id,
            Room.status,
            Room.topic,
            Room.assigned_to,
            Room.created_at,
            Room.waiting_since,
            Room.claimed_at,
            Room.closed_at,
        )
        .where(Room.kind == RoomKind.ONE_TO_ONE, *conditions)
        .order_by(*order_by)
    )
    if limit is not None:
        query = query.limit(limit)
    return {
        row.id: Conversation(
            room_id=row.id,
            status=row.status,
            topic=row.topic,
            assigned_to=row.assigned_to,
            created_at=row.created_at,
            waiting_since=row.waiting_since,
            claimed_at=row.claimed_at,
            closed_at=row.closed_at,
        )
        for row in (await session.execute(query)).all()
    }


async def _add_claims(
    session: AsyncSession, found: dict[str, Conversation], ids: Sequence[str]
) -> None:
    """The first claim, from the audit log: a transfer moves claimed_at on the room."""
    claims = await session.execute(
        select(AuditEntry.room_id, func.min(AuditEntry.at))
        .where(AuditEntry.action == "room_claimed", AuditEntry.room_id.in_(ids))
        .group_by(AuditEntry.room_id)
    )
    for room_id, first in claims.all():
        conv = found[cast(str, room_id)]  # one of ids: never None
        conv.claimed_at = _earliest(first, conv.claimed_at)


async def _add_alerts(
    session: AsyncSession, found: dict[str, Conversation], ids: Sequence[str]
) -> None:
    alerts = await session.execute(
        select(
            Alert.room_id,
            Alert.severity,
            func.count(),
            func.min(Alert.created_at),
            func.min(Alert.acknowledged_at),
        )
        .where(Alert.room_id.in_(ids))
        .group_by(Alert.room_id, Alert.severity)
    )
    for room_id, severity, count, first_at, first_ack in alerts.all():
        conv = found[room_id]
        conv.alerts[severity] = conv.alerts.get(severity, 0) + int(count)
        conv.first_alert_at = _earliest(conv.first_alert_at, first_at)
        conv.first_ack_at = _earliest(conv.first_ack_at, first_ack)


async def _add_checkins(
    session: AsyncSession, found: dict[str, Conversation], ids: Sequence[str]
) -> None:
    checkins = await session.execute(
        select(CheckIn.room_id, CheckIn.phase, CheckIn.mood, CheckIn.comment).where(
            CheckIn.room_id.in_(ids)
        )
    )
    for room_id, phase, mood, comment in checkins.all():
        conv = found[room_id]
        if phase == "start":
            conv.mood_before = int(mood)
        else:
            conv.mood_after = int(mood)
        conv.comments[phase] = comment


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _mood_view(conv: Conversation) -> dict[str, Any]:
    return {"before": conv.mood_before, "after": conv.mood_after, "change": conv.mood_change}


def _alerts_view(conv: Conversation) -> dict[str, Any]:
    return {
        "total": conv.alert_count,
        "by_severity": {sev: conv.alerts.get(sev, 0) for sev in SEVERITIES},
        "first_ack_seconds": _seconds(conv.ack_seconds),
    }


def _base_view(conv: Conversation, now: datetime) -> dict[str, Any]:
    return {
        "room_id": conv.room_id,
        "status": conv.status,
        "topic": conv.topic,
        "waiting_since": iso(conv.waiting_since) if conv.waiting_since else None,
        "claimed_at": iso(conv.claimed_at) if conv.claimed_at else None,
        "closed_at": iso(conv.closed_at) if conv.closed_at else None,
        "wait_seconds": _seconds(conv.wait_seconds),
        "duration_seconds": _seconds(conv.duration_seconds(now)),
        "alerts": _alerts_view(conv),
        "mood": _mood_view(conv),
    }


async def _sentiment(session: AsyncSession, room_id: str) -> dict[str, Any]:
    """The participant's scored messages in order: where they started, their lowest point,
    where they ended. Unscored messages (model off or not yet run) are left out."""
    scores = [
        float(score or 0.0)
        for score in (
            await session.execute(
                select(Message.sentiment_score)
                .where(
                    Message.room_id == room_id,
                    Message.sender_role == Role.PARTICIPANT,
                    Message.sentiment_score.is_not(None),
                )
                .order_by(Message.seq)
            )
        ).scalars()
    ]
    if not scores:
        return {"scored": 0, "start": None, "lowest": None, "end": None}
    return {"scored": len(scores), "start": scores[0], "lowest": min(scores), "end": scores[-1]}


async def _message_counts(session: AsyncSession, room_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Message.sender_role, func.count())
        .where(Message.room_id == room_id)
        .group_by(Message.sender_role)
    )
    by_role = {role: int(count) for role, count in rows.all()}
    return {
        "participant": by_role.get(Role.PARTICIPANT, 0),
        "staff": sum(n for role, n in by_role.items() if role in STAFF_ROLES),
    }


async def room_outcome(
    domain: Domain, *, viewer: Principal, room_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """One conversation's outcome, for its assigned peer worker and for supervisors.
    Participants' comments are shown to supervisors only, and each such read is audited."""
    now = now or utcnow()
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        allowed = viewer.has_oversight or (
            viewer.role == Role.PEER_WORKER and room.assigned_to == viewer.id
        )
        if not allowed:
            raise Forbidden("only the assigned peer worker or a supervisor can see this outcome")
        if room.kind != RoomKind.ONE_TO_ONE:
            raise BadRequest("outcomes are kept for one-to-one conversations only")
        (conv,) = await load_conversations(session, Room.id == room_id)
        worker = await session.get(User, room.assigned_to) if room.assigned_to else None
        view = _base_view(conv, now)
        view["assigned_to"] = (
            {"id": worker.id, "handle": worker.handle} if worker is not None else None
        )
        view["messages"] = await _message_counts(session, room_id)
        view["sentiment"] = await _sentiment(session, room_id)
        if viewer.has_oversight:
            view["comments"] = {
                "before": conv.comments.get("start"),
                "after": conv.comments.get("end"),
            }
            audit.record(session, actor=viewer, action="outcome_read", room_id=room_id)
    return view


def _overlap_hours(spans: Iterable[tuple[datetime, datetime]], since: datetime) -> float:
    seconds = sum(max(0.0, (end - max(start, since)).total_seconds()) for start, end in spans)
    return round(seconds / 3600, 2)


async def my_outcomes(
    domain: Domain, *, worker: Principal, now: datetime | None = None
) -> dict[str, Any]:
    """A peer worker's own recent conversations and hours, so they can see their load and
    pace themselves. Their own data, so nothing is suppressed; comments stay with supervisors.
    Days and weeks are UTC; a week starts on Monday."""
    if worker.role != Role.PEER_WORKER:
        raise Forbidden("only peer workers have their own outcomes")
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    async with domain.db.read() as session:
        recent = await load_conversations(
            session,
            Room.assigned_to == worker.id,
            order_by=(func.coalesce(Room.claimed_at, Room.created_at).desc(), Room.id),
            limit=RECENT_LIMIT,
        )
        this_week = await load_conversations(
            session,
            Room.assigned_to == worker.id,
            Room.claimed_at.is_not(None),
            or_(Room.closed_at.is_(None), Room.closed_at >= week),
        )
        active = await active_rooms(session, worker.id)
    spans = [span for conv in this_week if (span := conv.active_span(now)) is not None]
    return {
        "at": iso(now),
        "conversations": [_base_view(conv, now) for conv in recent],
        "hours_today": _overlap_hours(spans, today),
        "hours_this_week": _overlap_hours(spans, week),
        "active_rooms": active,
        "max_rooms": domain.settings.worker_max_rooms,
    }
