"""Storing what the model said about messages, and what it means for their rooms."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.views import room_risk_view
from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import RiskLevel, Role
from app.storage.keys import any_of, key_params
from app.storage.models import Message, Room

RISK_VALUE: dict[str, float] = {RiskLevel.NONE: 0.0, RiskLevel.ELEVATED: 0.5, RiskLevel.CRISIS: 1.0}


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    message_id: str
    room_id: str
    seq: int
    sender_id: str
    from_participant: bool
    sentiment_label: str
    sentiment_score: float
    emotions: dict[str, float]
    risk_level: str
    risk_reasons: tuple[str, ...]
    shift_detected: bool = False
    shift_kind: str | None = None
    shift_delta: float = 0.0
    shift_signal: str | None = None
    shift_distress: float = 0.0
    risk_evidence: tuple[dict[str, Any], ...] = ()

    def room_risk_event(self, room: dict[str, Any] | None = None) -> dict[str, Any]:
        """The news staff get (never participants): see ws.frames.staff_room_risk. ``level``
        is the room's (``room``, as chat.views.room_risk_view); ``message_level`` this
        message's own."""
        room = room or {"level": self.risk_level}
        return {
            "event": "room_risk",
            "room_id": self.room_id,
            "seq": self.seq,
            "sentiment": {"label": self.sentiment_label, "score": self.sentiment_score},
            "risk": {
                **room,
                "message_level": self.risk_level,
                "reasons": list(self.risk_reasons),
                "evidence": [dict(e) for e in self.risk_evidence],
            },
            "shift": {
                "detected": self.shift_detected,
                "kind": self.shift_kind,
                "delta": round(self.shift_delta, 4),
                "signal": self.shift_signal,
                "distress": round(self.shift_distress, 4),
            },
            "emotions": self.emotions,
        }


def room_risk_score(level: str, sentiment: float | None) -> float:
    """Orders rooms within a level: the risk level, or plain negativity when that is higher."""
    negativity = max(0.0, -(sentiment or 0.0)) * 0.4
    return round(max(RISK_VALUE.get(level, 0.0), negativity), 4)


def risk_event(room: Room) -> dict[str, Any]:
    """A room_risk event for a change no message caused (a review, a level lowered by staff)."""
    return {
        "event": "room_risk",
        "room_id": room.id,
        "seq": None,
        "sentiment": None,
        "risk": {**room_risk_view(room), "reasons": []},
        "shift": None,
    }


async def record(domain: Domain, records: list[ScoreRecord]) -> dict[str, dict[str, Any]]:
    """One transaction for a whole batch: scores onto messages, state onto rooms. Returns the
    risk each room now shows (chat.views.room_risk_view), by room id.

    A room's risk level only rises here, and resolving its alerts never lowers it: staff lower
    it on purpose (alerts.lower_risk), because a quieter message does not mean the danger has
    passed.

    Why synchronous, through ``run_batch``: on SQLite this transaction holds the process's write
    lock, and the message writer waits behind it. Run statement by statement over the async
    driver, each statement was a trip through a busy event loop, and at 1,000 messages a second
    the lock was held long enough to show in delivery's tail latency; run whole where the
    database is, it is one hop.
    """
    if not records:
        return {}
    now = utcnow()
    return await domain.db.run_batch(lambda conn: _record(conn, records, now))


_MESSAGES = cast(Table, Message.__table__)
_ROOMS = cast(Table, Room.__table__)
_SCORE_MESSAGE = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("b_id"))
    .values(
        scored_at=bindparam("b_now"),
        sentiment_label=bindparam("b_label"),
        sentiment_score=bindparam("b_score"),
        emotions=bindparam("b_emotions"),
        risk_level=bindparam("b_level"),
        risk_reasons=bindparam("b_reasons"),
    )
)
# Locked until the commit (PostgreSQL; SQLite's writer holds the whole database): read without
# the lock, a help press committed between this read and the update below was overwritten by
# the older level. In id order, so that two batches sharing rooms never deadlock.
_ROOM_STATE = (
    select(
        _ROOMS.c.id,
        _ROOMS.c.risk_level,
        _ROOMS.c.risk_reviewed_by,
        _ROOMS.c.risk_reviewed_at,
        _ROOMS.c.risk_version,
        _ROOMS.c.last_sentiment,
    )
    .order_by(_ROOMS.c.id)
    .with_for_update()
)
_SET_ROOM_STATE = (
    update(_ROOMS)
    .where(_ROOMS.c.id == bindparam("b_id"))
    .values(
        risk_level=bindparam("b_level"),
        risk_score=bindparam("b_risk_score"),
        risk_reviewed_by=bindparam("b_reviewed_by"),
        risk_reviewed_at=bindparam("b_reviewed_at"),
        risk_version=bindparam("b_version"),
        last_sentiment=bindparam("b_sentiment"),
        sentiment_trend=bindparam("b_trend"),
    )
)


@dataclass(slots=True)
class _RoomRisk:
    """A room's risk state as this batch leaves it (the fields ``room_risk_view`` reads)."""

    risk_level: str
    risk_score: float
    risk_reviewed_by: str | None
    risk_reviewed_at: datetime | None
    risk_version: int


def _record(
    conn: Connection, records: list[ScoreRecord], now: datetime
) -> dict[str, dict[str, Any]]:
    conn.execute(
        _SCORE_MESSAGE,
        [
            {
                "b_id": r.message_id,
                "b_now": now,
                "b_label": r.sentiment_label,
                "b_score": r.sentiment_score,
                "b_emotions": r.emotions,
                "b_level": r.risk_level,
                "b_reasons": list(r.risk_reasons),
            }
            for r in records
        ],
    )
    by_room: dict[str, list[ScoreRecord]] = {}
    for r in records:
        if r.from_participant:
            by_room.setdefault(r.room_id, []).append(r)
    if not by_room:
        return {}
    shown: dict[str, dict[str, Any]] = {}
    changes: list[dict[str, Any]] = []
    for row in conn.execute(_ROOM_STATE.where(_ROOMS.c.id.in_(list(by_room)))):
        state = _RoomRisk(
            row.risk_level, 0.0, row.risk_reviewed_by, row.risk_reviewed_at, row.risk_version + 1
        )
        sentiment, trend = row.last_sentiment, None
        for r in sorted(by_room[row.id], key=lambda x: x.seq):
            if RiskLevel(r.risk_level).rank > RiskLevel.of(state.risk_level).rank:
                state.risk_level = r.risk_level
                state.risk_reviewed_by = None  # a higher level than anyone reviewed
                state.risk_reviewed_at = None
            sentiment, trend = r.sentiment_score, round(r.shift_delta, 4)
        state.risk_score = room_risk_score(state.risk_level, sentiment)
        changes.append(
            {
                "b_id": row.id,
                "b_level": state.risk_level,
                "b_risk_score": state.risk_score,
                "b_reviewed_by": state.risk_reviewed_by,
                "b_reviewed_at": state.risk_reviewed_at,
                "b_version": state.risk_version,
                "b_sentiment": sentiment,
                "b_trend": trend,
            }
        )
        shown[row.id] = room_risk_view(state)
    if changes:
        conn.execute(_SET_ROOM_STATE, changes)
    return shown


@dataclass(frozen=True, slots=True)
class EarlierScore:
    """What the model said about one earlier message, as the shift detector replays it."""

    sentiment: float
    risk_level: str
    emotions: dict[str, float]


def _earlier(score: float, level: str | None, emotions: dict[str, float] | None) -> EarlierScore:
    return EarlierScore(float(score), level or RiskLevel.NONE, dict(emotions or {}))


async def recent_risk_levels(
    domain: Domain, *, room_id: str, before_seq: int, limit: int
) -> list[str]:
    """Risk levels of the room's latest scored participant messages before ``before_seq``."""
    async with domain.db.read() as session:
        rows = (
            await session.execute(
                select(Message.risk_level)
                .where(
                    Message.room_id == room_id,
                    Message.sender_role == Role.PARTICIPANT,
                    Message.seq < before_seq,
                    Message.risk_level.is_not(None),
                )
                .order_by(Message.seq.desc())
                .limit(limit)
            )
        ).scalars()
        return [str(level) for level in rows if level is not None]


async def recent_participant_scores(
    domain: Domain, *, room_id: str, sender_id: str, before_seq: int, limit: int = 50
) -> list[EarlierScore]:
    """A participant's earlier scores in a room, oldest first, to rebuild their shift state."""
    async with domain.db.read() as session:
        rows = await session.execute(
            select(Message.sentiment_score, Message.risk_level, Message.emotions)
            .where(
                Message.room_id == room_id,
                Message.sender_id == sender_id,
                Message.seq < before_seq,
                Message.sentiment_score.is_not(None),
            )
            .order_by(Message.seq.desc())
            .limit(limit)
        )
        return [_earlier(s, lv, e) for s, lv, e in rows.all() if s is not None][::-1]


@functools.cache
def _recent_scores_statement(
    count: int,
) -> Select[str, str, float | None, str | None, dict[str, float] | None]:
    return (
        select(
            Message.room_id,
            Message.sender_id,
            Message.sentiment_score,
            Message.risk_level,
            Message.emotions,
        )
        .where(
            any_of((Message.room_id, Message.sender_id), count),
            Message.sentiment_score.is_not(None),
        )
        .order_by(Message.seq)
    )


async def recent_scores_of(
    domain: Domain, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], list[EarlierScore]]:
    """Scores of several participants' earlier messages, per (room, sender), oldest first."""
    async with domain.db.read() as session:
        rows = await session.execute(_recent_scores_statement(len(keys)), key_params(keys))
        found: dict[tuple[str, str], list[EarlierScore]] = {}
        for room_id, sender_id, score, level, emotions in rows.all():
            if score is not None:
                found.setdefault((room_id, sender_id), []).append(_earlier(score, level, emotions))
        return found


async def unscored(domain: Domain, *, older_than_seconds: float, limit: int) -> list[Message]:
    """Messages that were stored but never scored (model down, node crashed mid-batch)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    async with domain.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Message)
                    .where(
                        Message.scored_at.is_(None),
                        Message.sender_role != "system",
                        Message.sent_at <= cutoff,
                    )
                    .order_by(Message.sent_at)
                    .limit(limit)
                )
            ).scalars()
        )


async def count_unscored(domain: Domain) -> int:
    async with domain.db.read() as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.scored_at.is_(None), Message.sender_role != "system")
                )
            ).scalar_one()
        )


async def raise_room_level(domain: Domain, *, room_id: str, level: str) -> bool:
    """Lift a room's level at once (crisis words seen). True if it changed."""
    async with domain.db.write() as session:
        return await lift_room_level(session, room_id=room_id, level=level)


async def lift_room_level(session: AsyncSession, *, room_id: str, level: str) -> bool:
    """`raise_room_level` inside the caller's transaction. A higher level than anyone
    reviewed clears the review."""
    room = await session.get(Room, room_id, with_for_update=True)
    if room is None or RiskLevel(level).rank <= RiskLevel.of(room.risk_level).rank:
        return False
    room.risk_level = level
    room.risk_reviewed_by = None
    room.risk_reviewed_at = None
    room.risk_score = room_risk_score(level, room.last_sentiment)
    risk_changed(room)
    return True


def risk_changed(room: Room) -> None:
    """Every change to a room's risk or its review ends here: the room's risk version moves on.

    The caller holds the room's row for update (access.load_room(for_update=True), or
    ``session.get(..., with_for_update=True)``), so that two changes never take one version."""
    room.risk_version = (room.risk_version or 0) + 1
