"""Room lifecycle: support requests, claim, transfer, close, and group rooms."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.staff import active_rooms
from app.chat import access
from app.chat.closing import announce_closed, close_room
from app.chat.messages import insert_message, insert_system_message
from app.chat.notices import Notice, in_language
from app.chat.views import message_view, room_risk_view
from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import RiskLevel, Role, RoomKind, RoomStatus
from app.core.errors import BadRequest, Conflict, Forbidden, GroupPaused, NotFound
from app.core.identity import Principal
from app.core.text import clean_tags, clean_text
from app.storage.models import Channel, Membership, Message, Participant, Room, User

MAX_NOTE_CHARS = 4000
MAX_NAME_CHARS = 120


def _optional_text(value: object, *, field: str, max_chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if len(value) > max_chars * 4:  # don't normalise megabytes just to refuse them
        raise BadRequest(f"{field} must be at most {max_chars} characters")
    # Cleaned as message bodies are: no control, zero-width or direction-override characters.
    value = clean_text(value)
    if len(value) > max_chars:
        raise BadRequest(f"{field} must be at most {max_chars} characters")
    return value or None


def _require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"only {' or '.join(r.replace('_', ' ') for r in roles)}s can do this")


@dataclass(frozen=True, slots=True)
class Announced:
    """What a room change needs to tell the world after its transaction commits."""

    room_id: str
    messages: list[dict[str, Any]]


async def _announce(domain: Domain, done: Announced) -> None:
    for message in done.messages:
        await domain.events.message_stored(message)
    await domain.events.queue_changed(done.room_id)


async def _upsert_membership(
    session: AsyncSession, *, room_id: str, member_id: str, role: str
) -> None:
    existing = (
        await session.execute(
            select(Membership).where(
                Membership.room_id == room_id, Membership.member_id == member_id
            )
        )
    ).scalar_one_or_none()
    if existing is None:
        session.add(Membership(room_id=room_id, member_id=member_id, role=role))
    else:
        existing.role = role
        existing.left_at = None
        existing.joined_at = utcnow()


async def _leave(session: AsyncSession, *, room_id: str, member_id: str) -> None:
    await session.execute(
        update(Membership)
        .where(
            Membership.room_id == room_id,
            Membership.member_id == member_id,
            Membership.left_at.is_(None),
        )
        .values(left_at=utcnow())
    )


async def request_support(
    domain: Domain,
    *,
    participant: Principal,
    topic: object = None,
    note: object = None,
    channel: Channel = Channel.WEB,
) -> Room:
    _require(participant, Role.PARTICIPANT)
    topic_tags = clean_tags([topic] if isinstance(topic, str) else topic, field="topic")
    note_text = _optional_text(note, field="note", max_chars=MAX_NOTE_CHARS)
    first: dict[str, Any] | None = None
    async with domain.db.write() as session:
        open_room = (
            await session.execute(
                select(Room.id)
                .join(Membership, Membership.room_id == Room.id)
                .where(
                    Membership.member_id == participant.id,
                    Membership.left_at.is_(None),
                    Room.kind == RoomKind.ONE_TO_ONE,
                    Room.status != RoomStatus.CLOSED,
                )
            )
        ).scalar_one_or_none()
        if open_room is not None:
            raise Conflict("you already have an open support request", room_id=open_room)
        person = await session.get(Participant, participant.id)
        now = utcnow()
        room = Room(
            id=new_id("room"),
            kind=RoomKind.ONE_TO_ONE,
            status=RoomStatus.WAITING,
            topic=topic_tags[0] if topic_tags else None,
            language=person.language if person else None,
            created_by=participant.id,
            created_at=now,
            waiting_since=now,
            last_seq=0,
            risk_level=RiskLevel.NONE,
            risk_score=0.0,
            channel=channel,
        )
        session.add(room)
        await session.flush()
        session.add(Membership(room_id=room.id, member_id=participant.id, role="participant"))
        await session.flush()
        if note_text:
            # The note is the participant's first words: stored, scored and shown like a message.
            stored = await insert_message(
                session, room_id=room.id, sender=participant, body=note_text
            )
            first = message_view(stored)
    await _announce(domain, Announced(room.id, [first] if first else []))
    return room


class ClaimRefusal(StrEnum):
    """Why a claim was refused, in the error's `reason`, so that clients can say it their way."""

    AT_CAPACITY = "at_capacity"
    ALREADY_CLAIMED = "already_claimed"
    CLOSED = "closed"


async def _lock_worker(session: AsyncSession, user_id: str) -> User:
    """Row-lock the worker on PostgreSQL so two claims by one worker cannot both pass the cap."""
    user = (
        await session.execute(select(User).where(User.id == user_id).with_for_update())
    ).scalar_one_or_none()
    if user is None or user.disabled:
        raise NotFound("no such peer worker")
    return user


async def claim(domain: Domain, *, worker: Principal, room_id: str) -> Room:
    """Atomic: the conditional UPDATE lets exactly one of several concurrent claims win."""
    _require(worker, Role.PEER_WORKER)
    cap = domain.settings.worker_max_rooms
    async with domain.db.write() as session:
        await _lock_worker(session, worker.id)
        held = await active_rooms(session, worker.id)
        if held >= cap:
            raise Conflict(
                f"You already support {cap} conversations, the most allowed at once. "
                "Close or hand over one first.",
                reason=ClaimRefusal.AT_CAPACITY,
                held=held,
                max_rooms=cap,
            )
        claimed = (
            await session.execute(
                update(Room)
                .where(
                    Room.id == room_id,
                    Room.status == RoomStatus.WAITING,
                    Room.kind == RoomKind.ONE_TO_ONE,
                )
                .values(status=RoomStatus.ACTIVE, assigned_to=worker.id, claimed_at=utcnow())
                .returning(Room.id, Room.language)
            )
        ).one_or_none()
        if claimed is None:
            room = await access.load_room(session, room_id)
            if room.kind != RoomKind.ONE_TO_ONE:
                raise BadRequest("group rooms are not claimed; join them to moderate")
            if room.status == RoomStatus.ACTIVE:
                raise Conflict(
                    "Someone else has just claimed this conversation.",
                    reason=ClaimRefusal.ALREADY_CLAIMED,
                )
            raise Conflict("This conversation has already ended.", reason=ClaimRefusal.CLOSED)
        await _upsert_membership(session, room_id=room_id, member_id=worker.id, role="supporter")
        joined = await insert_system_message(
            session,
            room_id=room_id,
            body=in_language(Notice.SUPPORTER_JOINED, claimed.language, handle=worker.handle),
        )
        audit.record(session, actor=worker, action="room_claimed", room_id=room_id)
        room = await access.load_room(session, room_id)
    await domain.events.claimed(room_id, worker.id)
    await _announce(domain, Announced(room_id, [message_view(joined)]))
    return room


async def transfer(domain: Domain, *, actor: Principal, room_id: str, to_user_id: object) -> Room:
    if not isinstance(to_user_id, str) or not to_user_id:
        raise BadRequest("to_user_id must be a user id")
    cap = domain.settings.worker_max_rooms
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id, for_update=True)
        if not access.can_manage(actor, room):
            raise Forbidden("only the assigned peer worker or a supervisor can transfer this room")
        if room.status != RoomStatus.ACTIVE:
            raise Conflict("only an active conversation can be transferred")
        if room.assigned_to == to_user_id:
            raise BadRequest("this room is already assigned to that peer worker")
        target = await session.get(User, to_user_id, with_for_update=True)
        if target is None or target.disabled or target.role != Role.PEER_WORKER:
            raise BadRequest("to_user_id must name an active peer worker")
        if await active_rooms(session, target.id) >= cap:
            raise Conflict(f"{target.handle} already supports {cap} conversations")
        previous = room.assigned_to
        room.assigned_to = target.id
        room.claimed_at = utcnow()
        if previous:
            await _leave(session, room_id=room_id, member_id=previous)
        await _upsert_membership(session, room_id=room_id, member_id=target.id, role="supporter")
        handed = await insert_system_message(
            session,
            room_id=room_id,
            body=in_language(Notice.HANDED_OVER, room.language, handle=target.handle),
        )
        audit.record(
            session, actor=actor, action="room_transferred", room_id=room_id,
            target_id=target.id, previous=previous,
        )  # fmt: skip
    await _announce(domain, Announced(room_id, [message_view(handed)]))
    if previous:
        await domain.events.access_revoked(room_id, previous)
    return room


async def close(domain: Domain, *, actor: Principal, room_id: str, notes: object = None) -> Room:
    notes_text = _optional_text(notes, field="notes", max_chars=MAX_NOTE_CHARS)
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id, for_update=True)
        if not access.can_manage(actor, room):
            raise Forbidden("only the assigned peer worker or a supervisor can close this room")
        if room.status == RoomStatus.CLOSED:
            raise Conflict("this room is already closed")
        room.close_notes = notes_text
        ended = await close_room(
            session, room, by=actor.id, notice=in_language(Notice.CONVERSATION_ENDED, room.language)
        )
        audit.record(session, actor=actor, action="room_closed", room_id=room_id)
    await announce_closed(domain.events, room_id, ended)
    return room


async def create_group(
    domain: Domain, *, creator: Principal, name: object, topic: object = None
) -> Room:
    _require(creator, Role.PEER_WORKER, Role.SUPERVISOR, Role.ADMIN)
    group_name = _optional_text(name, field="name", max_chars=MAX_NAME_CHARS)
    if not group_name:
        raise BadRequest("name is required")
    topic_tags = clean_tags([topic] if isinstance(topic, str) else topic, field="topic")
    async with domain.db.write() as session:
        room = Room(
            id=new_id("room"),
            kind=RoomKind.GROUP,
            status=RoomStatus.ACTIVE,
            name=group_name,
            topic=topic_tags[0] if topic_tags else None,
            created_by=creator.id,
            last_seq=0,
            risk_level=RiskLevel.NONE,
            risk_score=0.0,
        )
        session.add(room)
        await session.flush()
        session.add(Membership(room_id=room.id, member_id=creator.id, role="moderator"))
        audit.record(session, actor=creator, action="group_created", room_id=room.id)
    return room


CLOSED_GROUPS_LISTED = 100
"""Closed groups are listed most recently closed first, this many at most: the list is for
looking back at recent groups, not an archive."""


async def list_groups(
    domain: Domain, *, viewer: Principal | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Open groups (the default, for everyone), or with `status` "closed" (staff only) the
    groups staff have closed. A listing asked for by status says each group's status and when
    it closed; the default one keeps its contract shape."""
    if status not in (None, "open", "closed"):
        raise BadRequest("status must be open or closed")
    closed = status == "closed"
    if closed and (viewer is None or not viewer.is_staff):
        raise Forbidden("only staff can list closed groups")
    members = (
        select(Membership.room_id, func.count().label("members"))
        .where(Membership.left_at.is_(None), Membership.role == "participant")
        .group_by(Membership.room_id)
        .subquery()
    )
    query = (
        select(Room, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.room_id == Room.id)
        .where(
            Room.kind == RoomKind.GROUP,
            Room.status == (RoomStatus.CLOSED if closed else RoomStatus.ACTIVE),
        )
    )
    if closed:
        query = query.order_by(Room.closed_at.desc(), Room.id).limit(CLOSED_GROUPS_LISTED)
    else:
        query = query.order_by(Room.created_at)
    async with domain.db.read() as session:
        rows = (await session.execute(query)).all()
    listed = []
    for room, count in rows:
        entry: dict[str, Any] = {
            "room_id": room.id,
            "name": room.name,
            "topic": room.topic,
            "members": int(count),
            "paused": room.paused_at is not None,
        }
        if status is not None:
            entry["status"] = room.status
            entry["closed_at"] = iso(room.closed_at) if room.closed_at else None
        listed.append(entry)
    return listed


async def join_group(domain: Domain, *, participant: Principal, room_id: str) -> None:
    _require(participant, Role.PARTICIPANT)
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        if room.kind != RoomKind.GROUP:
            raise NotFound("no such group")
        if room.status != RoomStatus.ACTIVE:
            raise Conflict("this group is closed")
        if await access.active_membership(session, room_id, participant.id) is not None:
            return
        if room.paused_at is not None:
            raise GroupPaused(
                "This group is paused by its moderators and isn't taking new members."
            )
        past = (
            await session.execute(
                select(Membership.removed_at).where(
                    Membership.room_id == room_id, Membership.member_id == participant.id
                )
            )
        ).scalar_one_or_none()
        if past is not None:
            raise Forbidden("A moderator removed you from this group, so you can't rejoin it.")
        await _upsert_membership(
            session, room_id=room_id, member_id=participant.id, role="participant"
        )


async def leave_group(domain: Domain, *, participant: Principal, room_id: str) -> None:
    _require(participant, Role.PARTICIPANT)
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        if room.kind != RoomKind.GROUP:
            raise NotFound("no such group")
        await _leave(session, room_id=room_id, member_id=participant.id)
    await domain.events.access_revoked(room_id, participant.id)


async def room_summary(domain: Domain, *, reader: Principal, room_id: str) -> dict[str, Any]:
    """Room details for members and staff with access; risk only for staff."""
    async with domain.db.read() as session:
        room = await access.load_room(session, room_id)
        member = await access.active_membership(session, room_id, reader.id)
        if not access.can_read(reader, room, member):
            raise Forbidden("you cannot see this room")
    summary: dict[str, Any] = {
        "room_id": room.id,
        "kind": room.kind,
        "status": room.status,
        "name": room.name,
        "topic": room.topic,
        "last_seq": room.last_seq,
        "channel": room.channel,
    }
    if reader.is_staff:
        summary["assigned_to"] = room.assigned_to
        summary["risk"] = room_risk_view(room)
    return summary


async def still_readable(domain: Domain, *, reader: Principal, room_ids: list[str]) -> set[str]:
    """Which of these rooms the reader may still read, from storage: live connections are
    re-checked with it when news of a revoked access may have been lost (the bus was away)."""
    if not room_ids:
        return set()
    async with domain.db.read() as session:
        found = (await session.execute(select(Room).where(Room.id.in_(room_ids)))).scalars()
        rooms_by_id = {room.id: room for room in found}
        members = set(
            (
                await session.execute(
                    select(Membership.room_id).where(
                        Membership.room_id.in_(room_ids),
                        Membership.member_id == reader.id,
                        Membership.left_at.is_(None),
                    )
                )
            ).scalars()
        )
    return {
        room_id
        for room_id, room in rooms_by_id.items()
        if room_id in members or access.can_read(reader, room, None)
    }


@dataclass(frozen=True, slots=True)
class Joined:
    room_id: str
    last_seq: int
    kind: str
    status: str
    silent: bool
    """A supervisor watching: reads everything, posts nothing, and is not shown in presence."""


def _implicit_role(principal: Principal, room: Room, watch: bool | None) -> str | None:
    """The membership a non-member gets by joining, or None where joining grants none."""
    if principal.has_oversight:
        if watch is not False:
            return "observer"
        return "supporter" if room.kind == RoomKind.ONE_TO_ONE else "moderator"
    if principal.role == Role.PEER_WORKER and room.kind == RoomKind.GROUP:
        return "moderator"
    return None


async def join(
    domain: Domain,
    *,
    principal: Principal,
    room_id: str,
    watch: bool | None = None,
    replay_after: int | None = None,
) -> Joined:
    """Open a room for live delivery. Supervisors who are not members watch silently unless
    they ask to join openly (watch=False); a peer worker joining a group becomes its moderator;
    a peer worker looking at a waiting request reads it without being shown."""
    notice: Message | None = None
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id)
        member = await access.active_membership(session, room_id, principal.id)
        role = member.role if member is not None else None
        upgrade = role == "observer" and watch is False
        if role is None or upgrade:
            new_role = _implicit_role(principal, room, watch)
            if new_role is None and not access.can_read(principal, room, None):
                raise Forbidden("you cannot join this room")
            if new_role is not None:
                await _upsert_membership(
                    session, room_id=room_id, member_id=principal.id, role=new_role
                )
                role = new_role
                if principal.is_staff:  # a supervisor, or a peer worker moderating a group
                    audit.record(
                        session,
                        actor=principal,
                        action=f"room_joined_as_{new_role}",
                        room_id=room_id,
                    )
                    if (
                        principal.has_oversight
                        and new_role != "observer"
                        and room.status != RoomStatus.CLOSED
                    ):
                        notice = await insert_system_message(
                            session,
                            room_id=room_id,
                            body=in_language(
                                Notice.SUPERVISOR_JOINED, room.language, handle=principal.handle
                            ),
                        )
        last_seq = notice.seq if notice is not None else room.last_seq
        if principal.is_staff:
            # Joining is reading: live messages from now on, and the replay when asked for one.
            audit.record(
                session,
                actor=principal,
                action="transcript_read",
                room_id=room_id,
                after_seq=replay_after,
                live=True,
                via="ws",
            )
    if notice is not None:
        await domain.events.message_stored(message_view(notice))
    return Joined(room_id, last_seq, room.kind, room.status, silent=role in (None, "observer"))


async def leave(domain: Domain, *, participant: Principal, room_id: str) -> Room:
    """A participant ends their own conversation: a waiting request is withdrawn, an active
    one closes, and their supporter is told in plain words. Groups are simply left."""
    _require(participant, Role.PARTICIPANT)
    async with domain.db.write() as session:  # one transaction, whatever the room
        room = await access.load_room(session, room_id, for_update=True)
        member = await access.active_membership(session, room_id, participant.id)
        if not access.can_read(participant, room, member):
            raise Forbidden("you cannot see this room")
        if room.kind == RoomKind.GROUP:
            await _leave(session, room_id=room_id, member_id=participant.id)
            notice = None
        elif room.status == RoomStatus.CLOSED:
            return room
        else:
            body = (
                in_language(Notice.REQUEST_WITHDRAWN, room.language)
                if room.status == RoomStatus.WAITING
                else in_language(Notice.PARTICIPANT_LEFT, room.language, handle=participant.handle)
            )
            notice = await close_room(session, room, by=participant.id, notice=body)
    if notice is None:
        await domain.events.access_revoked(room_id, participant.id)
    else:
        await announce_closed(domain.events, room_id, notice)
    return room
