"""The peer workers' queue: most urgent first (crisis, elevated, then longest waiting)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select

from app.domain.context import Domain
from app.domain.errors import Forbidden
from app.domain.identity import Principal
from app.domain.messages import iso
from app.storage.models import Room

RISK_RANK = {"crisis": 0, "elevated": 1, "none": 2}


def room_entry(room: Room) -> dict[str, Any]:
    return {
        "room_id": room.id,
        "kind": room.kind,
        "status": room.status,
        "topic": room.topic,
        "language": room.language,
        "waiting_since": iso(room.waiting_since) if room.waiting_since else None,
        "assigned_to": room.assigned_to,
        "risk": {"level": room.risk_level, "score": room.risk_score},
        "sentiment": {"last": room.last_sentiment, "trend": room.sentiment_trend},
    }


async def list_queue(domain: Domain, *, viewer: Principal) -> list[dict[str, Any]]:
    """Peer workers see waiting requests and their own conversations; oversight sees all open."""
    if not viewer.is_staff:
        raise Forbidden("only staff can see the queue")
    risk_rank = case((Room.risk_level == "crisis", 0), (Room.risk_level == "elevated", 1), else_=2)
    status_rank = case((Room.status == "waiting", 0), else_=1)
    query = (
        select(Room)
        .where(Room.kind == "one_to_one", Room.status != "closed")
        .order_by(risk_rank, status_rank, Room.waiting_since, Room.id)
    )
    if not viewer.has_oversight:
        query = query.where(or_(Room.status == "waiting", Room.assigned_to == viewer.id))
    async with domain.db.read() as session:
        rooms = (await session.execute(query)).scalars().all()
    return [room_entry(room) for room in rooms]
