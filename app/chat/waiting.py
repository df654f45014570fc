"""Where a waiting participant stands in the queue, and about how long they may wait.

The position follows the order peer workers are offered requests in (chat.queue: crisis, then
elevated, then longest waiting), so it is the truth, not a promise. The estimate comes from the
waits people actually had lately: the median time from request to claim of the last claimed
requests, once per place ahead, less the time already waited; null when there is no recent
claim to go by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from sqlalchemy import select

from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import RiskLevel, RoomKind, RoomStatus
from app.storage.models import Room

RECENT_CLAIMS = 50
RECENT_HOURS = 24


@dataclass(frozen=True, slots=True)
class Standing:
    room_id: str
    position: int
    """1 = next."""
    estimated_wait_seconds: int | None


async def recent_median_wait(domain: Domain) -> float | None:
    since = utcnow() - timedelta(hours=RECENT_HOURS)
    async with domain.db.read() as session:
        rows = (
            await session.execute(
                select(Room.waiting_since, Room.claimed_at)
                .where(
                    Room.kind == RoomKind.ONE_TO_ONE,
                    Room.claimed_at.is_not(None),
                    Room.waiting_since.is_not(None),
                    Room.claimed_at >= since,
                )
                .order_by(Room.claimed_at.desc())
                .limit(RECENT_CLAIMS)
            )
        ).all()
    waits = [
        (claimed - waiting).total_seconds()
        for waiting, claimed in rows
        if waiting is not None and claimed is not None and claimed >= waiting
    ]
    return median(waits) if waits else None


async def standings(domain: Domain, room_ids: set[str] | None = None) -> dict[str, Standing]:
    """Every waiting request's standing (or only these rooms'), by room id."""
    async with domain.db.read() as session:
        rows = (
            await session.execute(
                select(Room.id, Room.risk_level, Room.waiting_since).where(
                    Room.kind == RoomKind.ONE_TO_ONE, Room.status == RoomStatus.WAITING
                )
            )
        ).all()
    if room_ids is not None and not room_ids & {row.id for row in rows}:
        return {}
    now = utcnow()
    ordered = sorted(
        rows, key=lambda r: (-RiskLevel.of(r.risk_level).rank, r.waiting_since or now, r.id)
    )
    typical = await recent_median_wait(domain)
    found: dict[str, Standing] = {}
    for index, row in enumerate(ordered):
        if room_ids is not None and row.id not in room_ids:
            continue
        estimate = None
        if typical is not None:
            waited = (now - row.waiting_since).total_seconds() if row.waiting_since else 0.0
            estimate = max(0, round(typical * (index + 1) - waited))
        found[row.id] = Standing(row.id, index + 1, estimate)
    return found
