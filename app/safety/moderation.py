"""Participants protecting themselves in groups: blocking a person and reporting a message.

A block is the blocker's own filter (the blocked person is not told and still posts for
everyone else); a report goes to the room's moderators, who decide what to do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import RoomKind
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound, RateLimited
from app.core.identity import Principal
from app.core.text import excerpt
from app.storage.models import Block, Membership, Message, Report, Room

REPORT_STATUSES = ("open", "resolved")


async def blocked_ids(session: AsyncSession, blocker_id: str) -> set[str]:
    """Everyone this person has blocked: read at sign-in and on each join, then kept live."""
    rows = await session.execute(select(Block.blocked_id).where(Block.blocker_id == blocker_id))
    return set(rows.scalars())


async def blocked_by(domain: Domain, blocker_id: str) -> set[str]:
    async with domain.db.read() as session:
        return await blocked_ids(session, blocker_id)


async def _member_of(session: AsyncSession, room_id: str, principal: Principal) -> Room:
    room = await access.load_room(session, room_id)
    if await access.active_membership(session, room_id, principal.id) is None:
        raise Forbidden("you are not a member of this room")
    return room


async def block(
    domain: Domain, *, blocker: Principal, room_id: str, participant_id: object
) -> bool:
    """Block another participant met in a group. Returns False when it was already in place."""
    if not blocker.is_participant:
        raise Forbidden("only participants block; staff moderate instead")
    if not isinstance(participant_id, str) or not 1 <= len(participant_id) <= 64:
        raise BadRequest("participant_id must be a participant id")
    if participant_id == blocker.id:
        raise BadRequest("you cannot block yourself")
    async with domain.db.write() as session:
        room = await _member_of(session, room_id, blocker)
        if room.kind != RoomKind.GROUP:
            raise BadRequest("blocking is for group rooms; in a one-to-one, ask to end it")
        # Only someone who is or was a participant here: this is no way to probe for ids.
        target = (
            await session.execute(
                select(Membership.role).where(
                    Membership.room_id == room_id, Membership.member_id == participant_id
                )
            )
        ).scalar_one_or_none()
        if target != "participant":
            raise NotFound("no such participant in this room")
        exists = (
            await session.execute(
                select(Block.id).where(
                    Block.blocker_id == blocker.id, Block.blocked_id == participant_id
                )
            )
        ).scalar_one_or_none()
        if exists is not None:
            return False
        session.add(Block(blocker_id=blocker.id, blocked_id=participant_id, room_id=room_id))
    await domain.events.room(
        room_id, {"event": "blocked", "blocker_id": blocker.id, "blocked_id": participant_id}
    )
    return True


def report_view(report: Report, excerpt: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "report_id": report.id,
        "room_id": report.room_id,
        "seq": report.seq,
        "reason": report.reason,
        "reported_by": report.reported_by,
        "message_sender_id": report.message_sender_id,
        "status": report.status,
        "created_at": iso(report.created_at),
        "resolved_by": report.resolved_by,
        "resolved_at": iso(report.resolved_at) if report.resolved_at else None,
    }
    if excerpt is not None:
        view["excerpt"] = excerpt
    return view


def _clean_reason(reason: object, max_chars: int) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise BadRequest("reason must be a string")
    reason = reason.strip()
    if len(reason) > max_chars:
        raise BadRequest(f"reason must be at most {max_chars} characters")
    return reason or None


async def report(
    domain: Domain, *, reporter: Principal, room_id: str, seq: int, reason: object = None
) -> tuple[dict[str, Any], bool]:
    """File a report on message `seq`; the same person reporting it again changes nothing.
    Returns the report and whether it is new. Staff are told live on the room's channel."""
    if not reporter.is_participant:
        raise Forbidden("only participants report messages; staff act on them")
    settings = domain.settings
    text = _clean_reason(reason, settings.report_reason_max_chars)
    allowed, retry_after = domain.address_limits.allow(
        "report", reporter.id, settings.reports_per_minute
    )
    if not allowed:
        raise RateLimited("too many reports; wait a moment", retry_after=retry_after)
    try:
        async with domain.db.write() as session:
            await _member_of(session, room_id, reporter)
            message = (
                await session.execute(
                    select(Message).where(Message.room_id == room_id, Message.seq == seq)
                )
            ).scalar_one_or_none()
            if message is None:
                raise NotFound("no such message")
            if message.sender_role == "system" or message.sender_id == reporter.id:
                raise BadRequest("you can only report someone else's message")
            existing = (
                await session.execute(
                    select(Report).where(
                        Report.room_id == room_id,
                        Report.seq == seq,
                        Report.reported_by == reporter.id,
                    )
                )
            ).scalar_one_or_none()
            if existing is not None:
                return report_view(existing), False
            filed = Report(
                id=new_id("rep"),
                room_id=room_id,
                seq=seq,
                message_sender_id=message.sender_id,
                reported_by=reporter.id,
                reason=text,
                status="open",
                created_at=utcnow(),
            )
            session.add(filed)
    except IntegrityError:
        raise Conflict("this message was just reported by you") from None
    view = report_view(filed)
    await domain.events.room(
        room_id,
        {"event": "report", "room_id": room_id, "seq": seq, "reason": text,
         "reported_by": reporter.id, "report_id": filed.id},
    )  # fmt: skip
    return view, True


def _require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("only staff see reports")


async def list_reports(
    domain: Domain, *, viewer: Principal, status: str | None = "open", limit: int = 200
) -> list[dict[str, Any]]:
    """Supervisors see every report; a peer worker those in groups and in their own rooms.
    Each carries an excerpt of the message, so listing them is audited like a transcript read."""
    _require_staff(viewer)
    status = status or "open"
    if status not in REPORT_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(REPORT_STATUSES)}")
    query = (
        select(Report, Message.body)
        .join(Room, Room.id == Report.room_id)
        .outerjoin(Message, (Message.room_id == Report.room_id) & (Message.seq == Report.seq))
        .where(Report.status == status)
        .order_by(Report.created_at.desc())
        .limit(limit)
    )
    if not viewer.has_oversight:
        query = query.where((Room.kind == RoomKind.GROUP) | (Room.assigned_to == viewer.id))
    async with domain.db.write() as session:
        rows = (await session.execute(query)).all()
        audit.record(session, actor=viewer, action="reports_listed", status=status, count=len(rows))
    return [report_view(r, excerpt(body)) for r, body in rows]


async def resolve_report(domain: Domain, *, actor: Principal, report_id: str) -> dict[str, Any]:
    _require_staff(actor)
    async with domain.db.write() as session:
        found = await session.get(Report, report_id)
        if found is None:
            raise NotFound("no such report")
        room = await access.load_room(session, found.room_id)
        if not (actor.has_oversight or room.kind == RoomKind.GROUP or room.assigned_to == actor.id):
            raise Forbidden("you cannot act on this room's reports")
        if found.status == "resolved":
            raise Conflict("this report is already resolved")
        await session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(status="resolved", resolved_by=actor.id, resolved_at=utcnow())
        )
        audit.record(
            session, actor=actor, action="report_resolved", room_id=room.id, target_id=report_id
        )
        await session.refresh(found)
    return report_view(found)
