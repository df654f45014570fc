"""The service at a glance, for supervisors: who waits, who supports whom, what is open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.accounts.staff import in_caseload
from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity, AlertStatus, RiskLevel, RoomKind, RoomStatus
from app.core.errors import Forbidden
from app.core.identity import Principal
from app.storage.models import Alert, Room, User


async def snapshot(domain: Domain, *, viewer: Principal) -> dict[str, Any]:
    if not viewer.has_oversight:
        raise Forbidden("only supervisors can see the dashboard")
    now = utcnow()
    async with domain.db.read() as session:
        waiting = (
            await session.execute(
                select(func.count(), func.min(Room.waiting_since)).where(
                    Room.kind == RoomKind.ONE_TO_ONE, Room.status == RoomStatus.WAITING
                )
            )
        ).one()
        by_risk = dict(
            (
                await session.execute(
                    select(Room.risk_level, func.count())
                    .where(Room.kind == RoomKind.ONE_TO_ONE, Room.status != RoomStatus.CLOSED)
                    .group_by(Room.risk_level)
                )
            ).all()
        )
        per_worker = (
            await session.execute(
                select(User.id, User.handle, func.count(Room.id))
                .join(Room, (Room.assigned_to == User.id) & in_caseload())
                .group_by(User.id, User.handle)
                .order_by(func.count(Room.id).desc())
            )
        ).all()
        alerts = dict(
            (
                await session.execute(
                    select(Alert.severity, func.count())
                    .where(Alert.status != AlertStatus.RESOLVED)
                    .group_by(Alert.severity)
                )
            ).all()
        )
        active_groups = (
            await session.execute(
                select(func.count()).where(
                    Room.kind == RoomKind.GROUP, Room.status == RoomStatus.ACTIVE
                )
            )
        ).scalar_one()
    count, oldest = waiting
    return {
        "at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "waiting": int(count),
        "longest_wait_seconds": round((now - oldest).total_seconds()) if oldest else 0,
        "active_rooms": sum(int(n) for _, _, n in per_worker),
        "rooms_by_risk": {
            level.value: int(by_risk.get(level, 0))
            for level in sorted(RiskLevel, key=lambda level: level.rank, reverse=True)
        },
        "active_rooms_per_worker": [
            {"user_id": uid, "handle": handle, "active_rooms": int(n)}
            for uid, handle, n in per_worker
        ],
        "open_alerts": {sev.value: int(alerts.get(sev, 0)) for sev in AlertSeverity},
        "active_groups": int(active_groups),
    }
