"""The peer workers' queue: most urgent first (crisis, elevated, then longest waiting), and,
for each peer worker, the rooms that match their profile offered before the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from app.chat.views import room_risk_view
from app.core.clock import iso, utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity, AlertStatus, RiskLevel, Role, RoomKind, RoomStatus
from app.core.errors import Forbidden
from app.core.identity import Principal
from app.storage.models import Alert, Message, Participant, Room, User

PREVIEW_CHARS = 140


@dataclass(frozen=True, slots=True)
class Profile:
    topics: frozenset[str]
    languages: frozenset[str]
    experience: frozenset[str]


@dataclass(frozen=True, slots=True)
class Match:
    score: int
    reasons: tuple[str, ...]


def match(profile: Profile, room: Room, participant_topics: list[str]) -> Match:
    """Why this worker suits this room. Language counts most (they must understand each
    other), then the topic asked about, then lived experience of the participant's topics."""
    reasons: list[str] = []
    score = 0
    if room.language and room.language.split("-")[0] in {
        lang.split("-")[0] for lang in profile.languages
    }:
        score += 4
        reasons.append(f"speaks {room.language}")
    topics = {room.topic} if room.topic else set()
    topics |= set(participant_topics)
    shared = sorted(t for t in topics if t in profile.topics)
    if shared:
        score += 2 * len(shared)
        reasons.append("topic: " + ", ".join(shared))
    lived = sorted(t for t in topics if t in profile.experience)
    if lived:
        score += len(lived)
        reasons.append("lived experience: " + ", ".join(lived))
    return Match(score, tuple(reasons))


def preview_of(text: str | None) -> str | None:
    """The first words of the request (its note is its first message), for the queue."""
    if not text:
        return None
    return text[:PREVIEW_CHARS]


def room_entry(
    room: Room,
    found: Match | None = None,
    *,
    preview: str | None = None,
    alert: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "room_id": room.id,
        "kind": room.kind,
        "status": room.status,
        "topic": room.topic,
        "language": room.language,
        "waiting_since": iso(room.waiting_since) if room.waiting_since else None,
        "assigned_to": room.assigned_to,
        "risk": room_risk_view(room),
        "sentiment": {"last": room.last_sentiment, "trend": room.sentiment_trend},
        "channel": room.channel,
        "preview": preview_of(preview),
        "alert": alert,
    }
    if found is not None:
        entry["match"] = {"score": found.score, "reasons": list(found.reasons)}
    return entry


def queue_order(room: Room, found: Match | None, never: datetime) -> tuple[Any, ...]:
    """The sort key: highest risk first, then waiting before claimed, the better match, the
    longer wait (a room without a start time sorts as if it began ``never``)."""
    return (
        -RiskLevel.of(room.risk_level).rank,
        0 if room.status == RoomStatus.WAITING else 1,
        -(found.score if found else 0),
        room.waiting_since or never,
        room.id,
    )


async def list_queue(domain: Domain, *, viewer: Principal) -> list[dict[str, Any]]:
    """Peer workers see waiting requests and their own conversations; oversight sees all open."""
    if not viewer.is_staff:
        raise Forbidden("only staff can see the queue")
    first_words = (
        select(Message.body)
        .where(Message.room_id == Room.id, Message.sender_role == Role.PARTICIPANT)
        .order_by(Message.seq)
        .limit(1)
        .correlate(Room)
        .scalar_subquery()
    )
    query = (
        select(Room, Participant.topics, first_words)
        .outerjoin(Participant, Participant.id == Room.created_by)
        .where(Room.kind == RoomKind.ONE_TO_ONE, Room.status != RoomStatus.CLOSED)
    )
    if not viewer.has_oversight:
        query = query.where(or_(Room.status == RoomStatus.WAITING, Room.assigned_to == viewer.id))
    async with domain.db.read() as session:
        rows = (await session.execute(query)).all()
        alerts = await _unresolved_alerts(session, [room.id for room, _, _ in rows])
        profile = None
        if viewer.role == Role.PEER_WORKER:
            user = await session.get(User, viewer.id)
            if user is not None:
                profile = Profile(
                    frozenset(user.topics or ()),
                    frozenset(user.languages or ()),
                    frozenset(user.experience_tags or ()),
                )
    never = utcnow()
    entries = []
    for room, topics, first in rows:
        found = match(profile, room, list(topics or ())) if profile is not None else None
        entries.append(
            (
                queue_order(room, found, never),
                room_entry(room, found, preview=first, alert=alerts.get(room.id)),
            )
        )
    entries.sort(key=lambda pair: pair[0])
    return [entry for _, entry in entries]


async def _unresolved_alerts(session: Any, room_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each room's most pressing unresolved alert (crisis before warning), in brief: the
    queue shows that someone asked for help, and how often, beside the risk."""
    if not room_ids:
        return {}
    rows = (
        await session.execute(
            select(Alert).where(Alert.room_id.in_(room_ids), Alert.status != AlertStatus.RESOLVED)
        )
    ).scalars()
    found: dict[str, dict[str, Any]] = {}
    for alert in rows:
        if alert.room_id in found and found[alert.room_id]["severity"] == AlertSeverity.CRISIS:
            continue
        found[alert.room_id] = {
            "alert_id": alert.id,
            "severity": alert.severity,
            "status": alert.status,
            "help_requests": alert.help_requests or 0,
        }
    return found
