"""Who may read, post in and act on a room: the rules live here and only here."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import Role, RoomKind, RoomStatus
from app.core.errors import DomainError, Forbidden, GroupPaused, Muted, NotFound
from app.core.identity import Principal
from app.storage.models import Membership, Room


async def load_room(session: AsyncSession, room_id: str, *, for_update: bool = False) -> Room:
    query = select(Room).where(Room.id == room_id)
    if for_update:
        query = query.with_for_update()
    room = (await session.execute(query)).scalar_one_or_none()
    if room is None:
        raise NotFound("no such room")
    return room


async def active_membership(
    session: AsyncSession, room_id: str, member_id: str
) -> Membership | None:
    return (
        await session.execute(
            select(Membership).where(
                Membership.room_id == room_id,
                Membership.member_id == member_id,
                Membership.left_at.is_(None),
            )
        )
    ).scalar_one_or_none()


def can_read(principal: Principal, room: Room, member: Membership | None) -> bool:
    if member is not None:
        return True
    if principal.has_oversight:
        return True
    if principal.role == Role.PEER_WORKER:
        # Peer workers moderate groups, and may look at a waiting request before claiming it.
        return (
            room.assigned_to == principal.id
            or room.kind == RoomKind.GROUP
            or (room.kind == RoomKind.ONE_TO_ONE and room.status == RoomStatus.WAITING)
        )
    return False


class PostingRoom(Protocol):
    """What ``can_post`` reads of a room: a Room, or a plain row of these columns."""

    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def assigned_to(self) -> str | None: ...
    @property
    def paused_at(self) -> datetime | None: ...


class PostingMember(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def muted_at(self) -> datetime | None: ...


def can_post(principal: Principal, room: PostingRoom, member: PostingMember | None) -> bool:
    """Members post; observers (a supervisor watching silently) only read."""
    if room.status == RoomStatus.CLOSED or member is None or member.role == "observer":
        return False
    if room.kind == RoomKind.ONE_TO_ONE and principal.role == Role.PEER_WORKER:
        return room.assigned_to == principal.id
    return True


def post_refusal(
    principal: Principal, room: PostingRoom, member: PostingMember | None
) -> DomainError | None:
    """Why this send is refused, or None: a muted member and a participant in a paused group
    get their own codes so that clients can say so; moderators still post in a paused group,
    to tell its members why."""
    if not can_post(principal, room, member):
        return Forbidden("you cannot post in this room")
    assert member is not None  # can_post refuses non-members
    if member.muted_at is not None:
        return Muted("A moderator has muted you in this group, so you cannot send messages here.")
    if room.kind == RoomKind.GROUP and room.paused_at is not None and member.role == "participant":
        return GroupPaused("This group is paused by its moderators. Messages can't be sent now.")
    return None


def can_manage(principal: Principal, room: Room) -> bool:
    """Transfer and close: the assigned peer worker or anyone with oversight."""
    return principal.has_oversight or (
        principal.role == Role.PEER_WORKER and room.assigned_to == principal.id
    )
