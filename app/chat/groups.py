"""Running a group: edit, pause, close, see who is in it, and remove or mute a participant.

Staff (peer workers, who moderate groups, supervisors and admins) run groups; every act is
audited in the same transaction, and a removal or mute needs a reason, kept in the audit log.
A removed participant leaves at once on every node (the same access revocation as leaving)
and may not join again; a muted one keeps reading but their sends are refused with `muted`;
a paused group refuses new members and participants' messages with `group_paused`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.chat import access
from app.chat.closing import announce_closed, close_room
from app.chat.messages import insert_system_message
from app.chat.notices import Notice, in_language
from app.chat.views import message_view
from app.core import audit
from app.core.clock import iso, utcnow
from app.core.context import Domain
from app.core.enums import RoomKind, RoomStatus
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from app.core.identity import Principal
from app.core.text import clean_tags, clean_text
from app.storage.models import Membership, Participant, Room, User

MAX_NAME_CHARS = 120
MAX_REASON_CHARS = 500


def _require_staff(actor: Principal) -> None:
    if not actor.is_staff:
        raise Forbidden("only staff can run groups")


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest("name must be a string")
    name = clean_text(value[: MAX_NAME_CHARS * 4])
    if not name:
        raise BadRequest("name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise BadRequest(f"name must be at most {MAX_NAME_CHARS} characters")
    return name


def _reason(value: object) -> str:
    """A removal or mute is explained: the reason is what a later review reads."""
    if not isinstance(value, str):
        raise BadRequest("reason is required")
    reason = clean_text(value[: MAX_REASON_CHARS * 4])
    if not reason:
        raise BadRequest("reason is required")
    if len(reason) > MAX_REASON_CHARS:
        raise BadRequest(f"reason must be at most {MAX_REASON_CHARS} characters")
    return reason


async def _group(session: Any, room_id: str, *, for_update: bool = True) -> Room:
    room = await access.load_room(session, room_id, for_update=for_update)
    if room.kind != RoomKind.GROUP:
        raise NotFound("no such group")
    return room


def group_view(room: Room, members: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "room_id": room.id,
        "name": room.name,
        "topic": room.topic,
        "status": room.status,
        "paused": room.paused_at is not None,
    }
    if members is not None:
        view["members"] = members
    return view


async def update_group(
    domain: Domain, *, actor: Principal, room_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename, re-topic, pause or resume. Only the fields given change; the members are told
    of a pause or resume in the room itself."""
    _require_staff(actor)
    if not changes:
        raise BadRequest("give at least one of name, topic, paused")
    notice = None
    async with domain.db.write() as session:
        room = await _group(session, room_id)
        if room.status == RoomStatus.CLOSED:
            raise Conflict("this group is closed")
        done: dict[str, Any] = {}
        if "name" in changes:
            room.name = done["name"] = _name(changes["name"])
        if "topic" in changes:
            topic = changes["topic"]
            tags = clean_tags([topic] if isinstance(topic, str) else topic, field="topic")
            room.topic = done["topic"] = tags[0] if tags else None
        if "paused" in changes:
            paused = changes["paused"]
            if not isinstance(paused, bool):
                raise BadRequest("paused must be true or false")
            if paused != (room.paused_at is not None):
                room.paused_at = utcnow() if paused else None
                done["paused"] = paused
                notice = await insert_system_message(
                    session,
                    room_id=room_id,
                    body=in_language(
                        Notice.GROUP_PAUSED if paused else Notice.GROUP_RESUMED, room.language
                    ),
                )
        audit.record(session, actor=actor, action="group_updated", room_id=room_id, **done)
        view = group_view(room)
    if notice is not None:
        await domain.events.message_stored(message_view(notice))
    return view


async def close_group(domain: Domain, *, actor: Principal, room_id: str) -> dict[str, Any]:
    _require_staff(actor)
    async with domain.db.write() as session:
        room = await _group(session, room_id)
        if room.status == RoomStatus.CLOSED:
            raise Conflict("this group is already closed")
        ended = await close_room(
            session,
            room,
            by=actor.id,
            notice=in_language(Notice.GROUP_CLOSED, room.language),
        )
        audit.record(session, actor=actor, action="group_closed", room_id=room_id)
        view = group_view(room)
    await announce_closed(domain.events, room_id, ended, queued=False)
    return view


async def members(domain: Domain, *, actor: Principal, room_id: str) -> dict[str, Any]:
    """Who is in the group now, with their handles (participants are anonymous: the handle
    is all there is), role and whether they are muted."""
    _require_staff(actor)
    async with domain.db.read() as session:
        room = await _group(session, room_id, for_update=False)
        rows = (
            await session.execute(
                select(Membership, Participant.handle, User.handle)
                .outerjoin(Participant, Participant.id == Membership.member_id)
                .outerjoin(User, User.id == Membership.member_id)
                .where(Membership.room_id == room_id, Membership.left_at.is_(None))
                .order_by(Membership.joined_at, Membership.id)
            )
        ).all()
    listed = [
        {
            "member_id": m.member_id,
            "handle": person or staff or "unknown",
            "role": m.role,
            "joined_at": iso(m.joined_at),
            "muted": m.muted_at is not None,
        }
        for m, person, staff in rows
        if m.role != "observer"  # a supervisor watching silently is not a member to anyone
    ]
    return group_view(room) | {"members": listed}


async def _participant_membership(session: Any, room_id: str, participant_id: str) -> Membership:
    member = await access.active_membership(session, room_id, participant_id)
    if member is None or member.role != "participant":
        raise NotFound("no such participant in this group")
    return member


async def remove_member(
    domain: Domain, *, actor: Principal, room_id: str, participant_id: str, reason: object
) -> None:
    """The participant leaves at once, on every node, and may not join this group again."""
    _require_staff(actor)
    why = _reason(reason)
    async with domain.db.write() as session:
        await _group(session, room_id)
        member = await _participant_membership(session, room_id, participant_id)
        member.left_at = member.removed_at = utcnow()
        audit.record(
            session, actor=actor, action="group_member_removed", room_id=room_id,
            target_id=participant_id, reason=why,
        )  # fmt: skip
    await domain.events.access_revoked(room_id, participant_id)


async def set_muted(
    domain: Domain,
    *,
    actor: Principal,
    room_id: str,
    participant_id: str,
    muted: bool,
    reason: object = None,
) -> None:
    """Mute (a reason is required) or unmute. The participant keeps reading the group."""
    _require_staff(actor)
    why = _reason(reason) if muted else None
    async with domain.db.write() as session:
        await _group(session, room_id)
        member = await _participant_membership(session, room_id, participant_id)
        member.muted_at = utcnow() if muted else None
        detail: dict[str, Any] = {"reason": why} if why else {}
        audit.record(
            session,
            actor=actor,
            action="group_member_muted" if muted else "group_member_unmuted",
            room_id=room_id,
            target_id=participant_id,
            **detail,
        )
