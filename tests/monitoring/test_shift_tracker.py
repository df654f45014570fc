"""The shift tracker on real databases: distress survives a restart, slides stay slides.

The detectors live in memory; after a restart (or a participant's move to another node) they
are rebuilt from the stored scores. That replay must carry each message's risk level and
emotions, not only its sentiment, or a low-mood participant's distress baseline is lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from app.assembly import build_domain
from app.bus.memory import MemoryBus
from app.core.clock import new_id, utcnow
from app.core.context import Domain
from app.monitoring.shift_tracker import ShiftTracker
from app.storage.database import Database
from app.storage.models import Message, Room
from nlp.shift import Shift, ShiftKind, ShiftSignal
from tests.support.server import node_settings


@dataclass(frozen=True)
class Scored:
    sentiment: float
    risk_level: str
    emotions: dict[str, float]


SAD = [Scored(-0.8 + 0.05 * (i % 3), "none", {"sadness": 0.7, "fear": 0.1}) for i in range(12)]
CRISIS = Scored(-0.95, "crisis", {"sadness": 0.3})


@pytest.fixture
async def domain(database_url: str) -> AsyncIterator[Domain]:
    settings = node_settings(database_url)
    db = Database(database_url)
    try:
        yield build_domain(settings, db, MemoryBus())
    finally:
        await db.dispose()


async def new_room(domain: Domain) -> str:
    room_id = new_id("room")
    async with domain.db.write() as session:
        session.add(Room(id=room_id, kind="one_to_one", status="active", created_by="test"))
    return room_id


async def store(domain: Domain, room_id: str, sender: str, seq: int, s: Scored) -> None:
    """A participant's message as the pipeline leaves it: stored, then scored."""
    async with domain.db.write() as session:
        session.add(
            Message(
                id=new_id("msg"), room_id=room_id, seq=seq, sender_id=sender,
                sender_handle="p", sender_role="participant", body=f"message {seq}",
                sent_at=utcnow(), scored_at=utcnow(), sentiment_label="negative",
                sentiment_score=s.sentiment, emotions=s.emotions, risk_level=s.risk_level,
                risk_reasons=[],
            )
        )  # fmt: skip


async def feed(tracker: ShiftTracker, room_id: str, sender: str, seq: int, s: Scored) -> Shift:
    return await tracker.update(
        room_id=room_id, sender_id=sender, seq=seq, score=s.sentiment,
        risk_level=s.risk_level, emotions=s.emotions,
    )  # fmt: skip


async def test_low_mood_participant_turning_to_crisis_is_seen(domain: Domain) -> None:
    room_id, sender = await new_room(domain), new_id("anon")
    live = ShiftTracker(domain)
    conversation = [*SAD, CRISIS, CRISIS]
    shifts = []
    for seq, s in enumerate(conversation, 1):
        shifts.append(await feed(live, room_id, sender, seq, s))
        await store(domain, room_id, sender, seq, s)
    assert not any(x.detected for x in shifts[:-1])
    last = shifts[-1]
    assert last.detected and last.kind == ShiftKind.DROP and last.signal == ShiftSignal.DISTRESS
    assert last.delta > -0.7  # sentiment alone had no room left to fall


async def test_distress_baseline_is_rebuilt_after_a_restart(domain: Domain) -> None:
    """Rebuilt from storage (one query per participant, or the batch prefetch), the detector
    says what the one that saw every message says."""
    room_id, sender = await new_room(domain), new_id("anon")
    live = ShiftTracker(domain)
    for seq, s in enumerate([*SAD, CRISIS], 1):
        await feed(live, room_id, sender, seq, s)
        await store(domain, room_id, sender, seq, s)
    next_seq = len(SAD) + 2
    expected = await feed(live, room_id, sender, next_seq, CRISIS)
    assert expected.detected and expected.signal == ShiftSignal.DISTRESS

    restarted = ShiftTracker(domain)
    assert await feed(restarted, room_id, sender, next_seq, CRISIS) == expected

    prefetched = ShiftTracker(domain)
    await prefetched.prefetch({(room_id, sender)})
    assert await feed(prefetched, room_id, sender, next_seq, CRISIS) == expected


async def test_a_slide_replayed_from_storage_is_still_a_slide(domain: Domain) -> None:
    room_id, sender = await new_room(domain), new_id("anon")
    slide = [Scored(0.6 - 0.1 * i, "none", {}) for i in range(16)]
    for seq, s in enumerate(slide[:12], 1):
        await store(domain, room_id, sender, seq, s)
    tracker = ShiftTracker(domain)
    shift = await feed(tracker, room_id, sender, 13, slide[12])
    assert shift.detected and shift.delta <= -0.7
    assert shift.kind == ShiftKind.SLIDE and shift.signal == ShiftSignal.SENTIMENT
