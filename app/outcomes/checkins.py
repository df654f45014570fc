"""Check-ins: how a participant feels when a conversation starts and when it ends.

Programmes must show that they help, and the only honest witness is the participant. A check-in
asks for one number on a five-point scale (and, if they wish, a few words); nothing personal.
It is always optional: nothing in the service waits for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import RoomKind
from app.core.errors import BadRequest, Forbidden
from app.core.identity import Principal
from app.core.text import clean_text
from app.storage.models import CheckIn, Membership

PHASES = ("start", "end")
COMMENT_MAX_CHARS = 500
# The one source of the words and emoji; the front end reads them from GET /checkins/scale.
SCALE: tuple[dict[str, Any], ...] = (
    {"mood": 1, "label": "Very low", "emoji": "😞"},
    {"mood": 2, "label": "Low", "emoji": "🙁"},
    {"mood": 3, "label": "Okay", "emoji": "😐"},
    {"mood": 4, "label": "Good", "emoji": "🙂"},
    {"mood": 5, "label": "Very good", "emoji": "😄"},
)


def scale() -> dict[str, Any]:
    return {
        "scale": [dict(step) for step in SCALE],
        "phases": list(PHASES),
        "comment_max_chars": COMMENT_MAX_CHARS,
    }


@dataclass(frozen=True, slots=True)
class Recorded:
    checkin: dict[str, Any]
    replaced: bool


def checkin_view(checkin: CheckIn) -> dict[str, Any]:
    return {
        "room_id": checkin.room_id,
        "phase": checkin.phase,
        "mood": checkin.mood,
        "comment": checkin.comment,
        "created_at": iso(checkin.created_at),
    }


def _mood(value: object) -> int:
    # bool is an int in Python; True is not a mood.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= len(SCALE):
        raise BadRequest(f"mood must be a whole number from 1 to {len(SCALE)}")
    return value


def _phase(value: object) -> str:
    if value not in PHASES:
        raise BadRequest("phase must be 'start' or 'end'")
    return str(value)


def _comment(value: object) -> str | None:
    """Stripped of control and direction-override characters, like message bodies."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest("comment must be a string")
    cleaned = clean_text(value)
    if len(cleaned) > COMMENT_MAX_CHARS:
        raise BadRequest(f"comment must be at most {COMMENT_MAX_CHARS} characters")
    return cleaned or None


async def record(
    domain: Domain,
    *,
    participant: Principal,
    room_id: str,
    phase: object,
    mood: object,
    comment: object = None,
    now: datetime | None = None,
) -> Recorded:
    """Store a check-in; a second one for the same phase replaces the first, so a participant
    who changes their mind (or taps twice) never gets an error and never counts twice."""
    if not participant.is_participant:
        raise Forbidden("only participants check in")
    phase_name, score, words = _phase(phase), _mood(mood), _comment(comment)
    at = now or utcnow()
    try:
        return await _upsert(domain, participant, room_id, phase_name, score, words, at)
    except IntegrityError:
        # Two taps raced past the lookup (PostgreSQL); the row exists now, so replace it.
        return await _upsert(domain, participant, room_id, phase_name, score, words, at)


async def _upsert(
    domain: Domain,
    participant: Principal,
    room_id: str,
    phase_name: str,
    score: int,
    words: str | None,
    at: datetime,
) -> Recorded:
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        # Any participant membership counts, past ones too: the end check-in comes after the
        # participant may have left the conversation themselves.
        member = (
            await session.execute(
                select(Membership).where(
                    Membership.room_id == room_id,
                    Membership.member_id == participant.id,
                    Membership.role == "participant",
                )
            )
        ).scalar_one_or_none()
        if member is None or room.kind != RoomKind.ONE_TO_ONE:
            raise Forbidden("you can only check in on your own one-to-one conversation")
        existing = (
            await session.execute(
                select(CheckIn).where(
                    CheckIn.room_id == room_id,
                    CheckIn.participant_id == participant.id,
                    CheckIn.phase == phase_name,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            existing.mood, existing.comment, existing.created_at = score, words, at
            return Recorded(checkin_view(existing), replaced=True)
        created = CheckIn(
            id=new_id("chk"),
            room_id=room_id,
            participant_id=participant.id,
            phase=phase_name,
            mood=score,
            comment=words,
            created_at=at,
        )
        session.add(created)
        await session.flush()
        return Recorded(checkin_view(created), replaced=False)


async def forget_participant(session: AsyncSession, *, participant_id: str) -> int:
    """For "delete my data": a participant's check-ins go with them, inside the caller's
    transaction. Returns how many were deleted."""
    result = await session.execute(delete(CheckIn).where(CheckIn.participant_id == participant_id))
    return int(getattr(result, "rowcount", 0) or 0)
