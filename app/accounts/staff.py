"""Staff profiles (what a peer worker can offer) and the list of staff, for handing over."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import Domain
from app.core.enums import RoomStatus
from app.core.errors import Forbidden, NotFound
from app.core.identity import Principal
from app.core.text import clean_tags
from app.storage.models import Room, User


def _profile(user: User, active_rooms: int) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "handle": user.handle,
        "role": user.role,
        "topics": list(user.topics or ()),
        "languages": list(user.languages or ()),
        "experience_tags": list(user.experience_tags or ()),
        "active_rooms": active_rooms,
    }


def in_caseload() -> ColumnElement[bool]:
    """The one rule for a peer worker's load, which the claim cap, the staff list, the
    dashboard and their own outcomes all count: rooms assigned to them and still active.
    A waiting request is nobody's yet; a closed one is done."""
    return Room.status == RoomStatus.ACTIVE


async def active_rooms(session: AsyncSession, user_id: str) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Room)
                .where(Room.assigned_to == user_id, in_caseload())
            )
        ).scalar_one()
    )


async def active_counts(session: AsyncSession) -> dict[str, int]:
    """Every worker's load at once (workers holding nothing are absent)."""
    rows = await session.execute(
        select(Room.assigned_to, func.count())
        .where(in_caseload(), Room.assigned_to.is_not(None))
        .group_by(Room.assigned_to)
    )
    return {user_id: int(count) for user_id, count in rows.all() if user_id is not None}


async def get_profile(domain: Domain, *, viewer: Principal) -> dict[str, Any]:
    if not viewer.is_staff:
        raise Forbidden("participants have no profile: they stay anonymous")
    async with domain.db.read() as session:
        user = await session.get(User, viewer.id)
        if user is None:
            raise NotFound("no such user")
        return _profile(user, (await active_counts(session)).get(user.id, 0))


async def update_profile(
    domain: Domain,
    *,
    viewer: Principal,
    topics: object = None,
    languages: object = None,
    experience_tags: object = None,
) -> dict[str, Any]:
    """Only what is given changes. Used to offer matching rooms first."""
    if not viewer.is_staff:
        raise Forbidden("participants have no profile: they stay anonymous")
    async with domain.db.write() as session:
        user = await session.get(User, viewer.id)
        if user is None:
            raise NotFound("no such user")
        if topics is not None:
            user.topics = clean_tags(topics, field="topics")
        if languages is not None:
            user.languages = clean_tags(languages, field="languages")
        if experience_tags is not None:
            user.experience_tags = clean_tags(experience_tags, field="experience_tags")
        counts = await active_counts(session)
        return _profile(user, counts.get(user.id, 0))


async def list_staff(
    domain: Domain, *, viewer: Principal, role: str | None = None
) -> list[dict[str, Any]]:
    if not viewer.is_staff:
        raise Forbidden("only staff can list staff")
    query = select(User).where(User.disabled.is_(False)).order_by(User.handle)
    if role is not None:
        query = query.where(User.role == role)
    async with domain.db.read() as session:
        users = (await session.execute(query)).scalars().all()
        counts = await active_counts(session)
    return [_profile(u, counts.get(u.id, 0)) for u in users]
