"""One order of risk: `RiskLevel.rank`, read upwards by scores and downwards by the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.chat.queue import Match, queue_order
from app.core.enums import RiskLevel, RoomStatus
from app.safety.scores import room_risk_score
from app.storage.models import Room

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _room(room_id: str, level: str, *, waited_minutes: int, status: str = "waiting") -> Room:
    return Room(
        id=room_id,
        status=status,
        risk_level=level,
        waiting_since=T0 - timedelta(minutes=waited_minutes),
    )


def test_rank_orders_risk_from_none_to_crisis() -> None:
    ranked = sorted(RiskLevel, key=lambda level: level.rank)
    assert ranked == [RiskLevel.NONE, RiskLevel.ELEVATED, RiskLevel.CRISIS]
    assert RiskLevel.highest("elevated", None, "crisis", "none") == RiskLevel.CRISIS
    assert RiskLevel.highest("none", "elevated") == RiskLevel.ELEVATED
    assert RiskLevel.of("no-such-level") == RiskLevel.NONE and RiskLevel.of(None).rank == 0


def test_room_risk_score_rises_with_rank() -> None:
    scores = [room_risk_score(level, 0.0) for level in sorted(RiskLevel, key=lambda v: v.rank)]
    assert scores == sorted(scores) and len(set(scores)) == 3


def test_queue_puts_the_most_urgent_first() -> None:
    rooms = [
        _room("calm-long-wait", "none", waited_minutes=90),
        _room("crisis-short-wait", "crisis", waited_minutes=1),
        _room("elevated", "elevated", waited_minutes=30),
        _room("unknown-level", "mystery", waited_minutes=120),
        _room("crisis-claimed", "crisis", waited_minutes=60, status=RoomStatus.ACTIVE),
    ]
    ordered = [room.id for room in sorted(rooms, key=lambda r: queue_order(r, None, T0))]
    assert ordered == [
        "crisis-short-wait",  # crisis, still waiting for someone
        "crisis-claimed",
        "elevated",
        "unknown-level",  # an unknown level reads as none; it has waited longest
        "calm-long-wait",
    ]


def test_queue_prefers_a_match_within_a_level() -> None:
    plain = _room("plain", "elevated", waited_minutes=50)
    matching = _room("matching", "elevated", waited_minutes=5)
    found = {"plain": None, "matching": Match(4, ("speaks pt",))}
    ordered = sorted([plain, matching], key=lambda r: queue_order(r, found[r.id], T0))
    assert [room.id for room in ordered] == ["matching", "plain"]
