"""Retention: conversations are not kept longer than the operator decided.

Only closed rooms are purged, so an open room's seq stays gapless for its clients; a closed
room's `last_seq` is left as it was, so the numbering never restarts. The audit log is kept:
it holds who did what, never what anyone wrote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select

from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import AlertStatus, RoomStatus
from app.storage.models import Alert, AuditEntry, Membership, Message, Report, Room


@dataclass(frozen=True, slots=True)
class Purged:
    messages: int
    rooms: int
    memberships: int
    reports: int
    alerts: int


def _count(result: object) -> int:
    rowcount = getattr(result, "rowcount", 0)
    return int(rowcount) if isinstance(rowcount, int) and rowcount > 0 else 0


async def purge(domain: Domain, *, days: int | None = None, now: datetime | None = None) -> Purged:
    """Delete what is older than `days` (the setting by default; 0 keeps everything) and write
    one audit entry saying how much went. Safe to run on every node at once: it is idempotent."""
    days = domain.settings.retention_days if days is None else days
    if days <= 0:
        return Purged(0, 0, 0, 0, 0)
    cutoff = (now or utcnow()) - timedelta(days=days)
    closed_rooms = select(Room.id).where(Room.status == RoomStatus.CLOSED)
    async with domain.db.write() as session:
        messages = _count(
            await session.execute(
                delete(Message).where(Message.room_id.in_(closed_rooms), Message.sent_at < cutoff)
            )
        )
        emptied = select(Room.id).where(
            Room.status == RoomStatus.CLOSED,
            Room.closed_at < cutoff,
            ~exists().where(Message.room_id == Room.id),
        )
        gone = list((await session.execute(emptied)).scalars())
        memberships = reports = alerts = rooms = 0
        if gone:
            memberships = _count(
                await session.execute(delete(Membership).where(Membership.room_id.in_(gone)))
            )
            reports = _count(await session.execute(delete(Report).where(Report.room_id.in_(gone))))
            alerts = _count(await session.execute(delete(Alert).where(Alert.room_id.in_(gone))))
            rooms = _count(await session.execute(delete(Room).where(Room.id.in_(gone))))
        alerts += _count(
            await session.execute(
                delete(Alert).where(
                    and_(Alert.status == AlertStatus.RESOLVED, Alert.resolved_at < cutoff)
                )
            )
        )
        reports += _count(
            await session.execute(
                delete(Report).where(Report.room_id.in_(closed_rooms), Report.created_at < cutoff)
            )
        )
        done = Purged(messages, rooms, memberships, reports, alerts)
        session.add(
            AuditEntry(
                actor_id="system",
                actor_role="system",
                action="retention_purge",
                detail={"days": days, "cutoff": cutoff.isoformat(), **asdict(done)},
            )
        )
    return done
