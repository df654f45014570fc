"""Escalation: alerts are written before they are published, and re-sent until acknowledged."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.chat.views import room_risk_view
from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity, AlertStatus, RiskLevel, RoomStatus
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from app.core.identity import Principal
from app.core.text import EXCERPT_CHARS
from app.safety import support
from app.safety.scores import lift_room_level, risk_changed, risk_event, room_risk_score
from app.safety.support import Why
from app.storage.models import Alert, Room

log = logging.getLogger(__name__)
MAX_NOTE_CHARS = 4000

STATUSES = tuple(status.value for status in AlertStatus)
SEVERITIES = tuple(severity.value for severity in AlertSeverity)


_QUOTED = re.compile(r'\s*\("[^"]*"\)|"[^"]*"')


def without_quotes(reason: str) -> str:
    """A reason with the participant's quoted words taken out (for erasure, DELETE /me)."""
    return re.sub(r"\s{2,}", " ", _QUOTED.sub("", reason)).strip()


def alert_view(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "room_id": alert.room_id,
        "severity": alert.severity,
        "reason": alert.reason,
        "excerpt": alert.excerpt,
        "evidence": list(alert.evidence or []),
        "created_at": iso(alert.created_at),
        "status": alert.status,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso(alert.acknowledged_at) if alert.acknowledged_at else None,
        "resolved_by": alert.resolved_by,
        "resolved_at": iso(alert.resolved_at) if alert.resolved_at else None,
        "resolution_notes": alert.resolution_notes,
        "message_seq": alert.message_seq,
        "attached_count": alert.attached_count,
        "help_requests": alert.help_requests or 0,
    }


def _require_oversight(principal: Principal) -> None:
    if not principal.has_oversight:
        raise Forbidden("only supervisors can see and handle alerts")


@dataclass(frozen=True, slots=True)
class Raised:
    alert: dict[str, Any]
    created: bool
    published: bool = False
    """True when this call sent the alert to supervisors (new, or re-opened by a help request)."""


async def raise_or_attach(
    domain: Domain,
    *,
    room_id: str,
    severity: str,
    reason: str,
    excerpt: str = "",
    message_seq: int | None = None,
    evidence: Sequence[Mapping[str, Any]] = (),
) -> Raised:
    """One unresolved alert per room and severity: a new cause attaches to the open one instead
    of flooding supervisors. Only a new alert is published; attaching is recorded (a help
    request is never silent: see _attach_or_add)."""
    if severity not in SEVERITIES:
        raise BadRequest(f"severity must be one of {SEVERITIES}")
    for _ in range(3):
        try:
            async with domain.db.write() as session:
                alert, created, reopened = await _attach_or_add(
                    session, room_id=room_id, severity=severity, reason=reason,
                    excerpt=excerpt, message_seq=message_seq, evidence=evidence,
                )  # fmt: skip
            return await _published(domain, alert, created, reopened)
        except IntegrityError:
            continue  # another node raised the same alert a moment ago: attach to it
    raise Conflict("could not raise the alert; try again")


async def _attach_or_add(
    session: AsyncSession,
    *,
    room_id: str,
    severity: str,
    reason: str,
    excerpt: str = "",
    message_seq: int | None = None,
    evidence: Sequence[Mapping[str, Any]] = (),
    help_request: bool = False,
) -> tuple[Alert, bool, bool]:
    """The alert, attached to or added in the caller's transaction, whether it is new, and
    whether a help request re-opened it. A new one can fail the unique index at the commit:
    raise_or_attach retries that.

    A help request counts on the unresolved alert, re-opens it when it was acknowledged
    (someone must acknowledge the new request) and is sent again at once and, until
    acknowledged, at every re-send. A crisis alert lifts the room to crisis in the same
    transaction, so that whoever reads the dashboard or the queue on seeing it agrees."""
    now = utcnow()
    if severity == AlertSeverity.CRISIS:
        await lift_room_level(session, room_id=room_id, level=RiskLevel.CRISIS)
    existing = (
        await session.execute(
            select(Alert).where(
                Alert.room_id == room_id,
                Alert.severity == severity,
                Alert.status != AlertStatus.RESOLVED,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        existing.attached_count += 1
        if not help_request:
            return existing, False, False
        existing.help_requests = (existing.help_requests or 0) + 1
        existing.status = AlertStatus.OPEN
        existing.acknowledged_by = None
        existing.acknowledged_at = None
        existing.last_sent_at = now
        await _unreview(session, room_id)
        return existing, False, True
    alert = Alert(
        id=new_id("alert"),
        room_id=room_id,
        severity=severity,
        status=AlertStatus.OPEN,
        reason=reason,
        excerpt=excerpt[:EXCERPT_CHARS],
        evidence=[dict(e) for e in evidence],
        message_seq=message_seq,
        attached_count=0,
        help_requests=1 if help_request else 0,
        created_at=now,
        last_sent_at=now,
    )
    session.add(alert)
    await _unreview(session, room_id)
    return alert, True, False


async def _unreview(session: AsyncSession, room_id: str) -> None:
    """A new or re-opened alert makes the room's last review out of date."""
    room = await session.get(Room, room_id, with_for_update=True)
    if room is not None:
        room.risk_reviewed_by = None
        room.risk_reviewed_at = None
        risk_changed(room)


async def _published(domain: Domain, alert: Alert, created: bool, reopened: bool) -> Raised:
    """After the commit: a new or re-opened alert is published (through the durable alert
    stream) and the queue, whose entries show it, changes; attaching is recorded."""
    view = alert_view(alert)
    if created or reopened:
        await domain.events.alert(view)
        await domain.events.queue_changed(alert.room_id)
    return Raised(view, created=created, published=created or reopened)


async def list_alerts(
    domain: Domain, *, viewer: Principal, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    _require_oversight(viewer)
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of: {', '.join(STATUSES)}")
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    async with domain.db.read() as session:
        return [alert_view(a) for a in (await session.execute(query)).scalars()]


async def read_alerts(
    domain: Domain, *, viewer: Principal, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """GET /alerts: excerpts are participants' words, so reading them is audited (the live
    alert channel sends what the supervisor's subscription already recorded)."""
    found = await list_alerts(domain, viewer=viewer, status=status, limit=limit)
    async with domain.db.write() as session:
        audit.record(
            session, actor=viewer, action="alerts_read", status=status,
            alert_ids=[a["alert_id"] for a in found][:limit],
        )  # fmt: skip
    return found


async def record_subscription(domain: Domain, *, viewer: Principal) -> None:
    """Subscribing to alerts delivers every open alert, excerpts included: audited as a read."""
    _require_oversight(viewer)
    async with domain.db.write() as session:
        audit.record(session, actor=viewer, action="alerts_read", via="ws")


async def acknowledge(domain: Domain, *, supervisor: Principal, alert_id: str) -> dict[str, Any]:
    _require_oversight(supervisor)
    async with domain.db.write() as session:
        alert = await _load(session, alert_id)
        if alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.ACKNOWLEDGED
            alert.acknowledged_by = supervisor.id
            alert.acknowledged_at = utcnow()
            audit.record(
                session,
                actor=supervisor,
                action="alert_acknowledged",
                room_id=alert.room_id,
                target_id=alert.id,
            )
        elif alert.status == AlertStatus.RESOLVED:
            raise Conflict("this alert is already resolved")
        view = alert_view(alert)
    await domain.events.alert(view)
    await domain.events.queue_changed(view["room_id"])
    return view


async def resolve(
    domain: Domain, *, supervisor: Principal, alert_id: str, notes: object = None
) -> dict[str, Any]:
    _require_oversight(supervisor)
    if notes is not None and (not isinstance(notes, str) or len(notes) > 4000):
        raise BadRequest("notes must be a string of at most 4000 characters")
    async with domain.db.write() as session:
        alert = await _load(session, alert_id)
        if alert.status == AlertStatus.RESOLVED:
            raise Conflict("this alert is already resolved")
        now = utcnow()
        if alert.acknowledged_by is None:
            alert.acknowledged_by = supervisor.id
            alert.acknowledged_at = now
        alert.status = AlertStatus.RESOLVED
        alert.resolved_by = supervisor.id
        alert.resolved_at = now
        alert.resolution_notes = (notes or "").strip() or None
        audit.record(
            session,
            actor=supervisor,
            action="alert_resolved",
            room_id=alert.room_id,
            target_id=alert.id,
        )
        # Resolving never lowers the room's risk (staff lower it explicitly, lower_risk):
        # the queue keeps the highest level the conversation reached, marked as reviewed.
        room = await session.get(Room, alert.room_id, with_for_update=True)
        if room is not None:
            room.risk_reviewed_by = supervisor.id
            room.risk_reviewed_at = now
            risk_changed(room)
        view = alert_view(alert)
        reviewed = risk_event(room) if room is not None else None
    await domain.events.alert(view)
    if reviewed is not None:
        await domain.events.room_risk(view["room_id"], reviewed)
    await domain.events.queue_changed(view["room_id"])
    return view


async def resend_due(domain: Domain) -> list[dict[str, Any]]:
    """Alerts nobody acknowledged in time go out again to every supervisor.

    Each node runs this; the conditional update lets one node claim each re-send."""
    now = utcnow()
    cutoff = now - timedelta(seconds=domain.settings.alert_ack_seconds)
    async with domain.db.read() as session:
        due = list(
            (
                await session.execute(
                    select(Alert.id, Alert.last_sent_at).where(
                        Alert.status == AlertStatus.OPEN, Alert.last_sent_at <= cutoff
                    )
                )
            ).all()
        )
    sent: list[dict[str, Any]] = []
    for alert_id, last_sent in due:
        async with domain.db.write() as session:
            claimed = (
                await session.execute(
                    update(Alert)
                    .where(
                        Alert.id == alert_id,
                        Alert.status == AlertStatus.OPEN,
                        Alert.last_sent_at == last_sent,
                    )
                    .values(last_sent_at=now)
                    .returning(Alert.id)
                )
            ).scalar_one_or_none()
            alert = await session.get(Alert, alert_id) if claimed else None
            view = alert_view(alert) if alert is not None else None
        if view is not None:
            await domain.events.alert(view, resent=True)
            sent.append(view)
    return sent


async def help_now(domain: Domain, *, participant: Principal, room_id: str) -> Raised:
    """The participant's own "I need help now": a crisis alert at once, no model involved, sent
    to every supervisor even when the room already has one; the staff in the room are told,
    and the participant is offered crisis resources."""
    if not participant.is_participant:
        raise Forbidden("only participants ask for help this way")
    for _ in range(3):
        try:
            # One transaction: the check, the alert and the room's level commit together.
            async with domain.db.write() as session:
                await access.load_room(session, room_id)
                if await access.active_membership(session, room_id, participant.id) is None:
                    raise Forbidden("you are not in this room")
                alert, created, reopened = await _attach_or_add(
                    session,
                    room_id=room_id,
                    severity=AlertSeverity.CRISIS,
                    # No quotes: quoted text in a reason is always the participant's own words.
                    reason=f"{participant.handle} pressed the help-now button",
                    help_request=True,
                )
        except IntegrityError:
            continue  # another node raised the same alert a moment ago: attach to it
        raised = await _published(domain, alert, created, reopened)
        await domain.events.room(
            room_id,
            {
                "event": "help_requested",
                "room_id": room_id,
                "handle": participant.handle,
                "alert_id": raised.alert["alert_id"],
                "help_requests": raised.alert["help_requests"],
                "at": iso(utcnow()),
            },
        )
        try:
            await support.offer(
                domain, room_id=room_id, participant_id=participant.id, why=Why.HELP
            )
        except Exception:  # the alert is out: a failed offer must not fail the request for help
            log.warning("the support offer for a help request failed", exc_info=True)
        return raised
    raise Conflict("could not raise the alert; try again")


async def unresolved_crisis(domain: Domain, room_id: str) -> list[str]:
    """Ids of the room's crisis alerts not yet resolved."""
    async with domain.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Alert.id).where(
                        Alert.room_id == room_id,
                        Alert.severity == AlertSeverity.CRISIS,
                        Alert.status != AlertStatus.RESOLVED,
                    )
                )
            ).scalars()
        )


async def settle_for_close(
    domain: Domain, *, actor: Principal, room_id: str, safety_note: object
) -> list[dict[str, Any]]:
    """Closing a room in crisis takes a safety note (what was done to keep the person safe):
    without one, 409; with one, the room's unresolved crisis alerts are resolved with it as
    their notes, and the close is audited with it. Returns the alerts resolved."""
    note = safety_note.strip() if isinstance(safety_note, str) else None
    if safety_note is not None and not isinstance(safety_note, str):
        raise BadRequest("safety_note must be a string")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise BadRequest(f"safety_note must be at most {MAX_NOTE_CHARS} characters")
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id, for_update=True)
        if not access.can_manage(actor, room):
            raise Forbidden("only the assigned peer worker or a supervisor can close this room")
        open_crisis = list(
            (
                await session.execute(
                    select(Alert).where(
                        Alert.room_id == room_id,
                        Alert.severity == AlertSeverity.CRISIS,
                        Alert.status != AlertStatus.RESOLVED,
                    )
                )
            ).scalars()
        )
        if not open_crisis or room.status == RoomStatus.CLOSED:
            return []
        if not note:
            raise Conflict(
                "This conversation has an unresolved crisis alert. Write a safety note "
                "(what was done to keep the person safe) to close it.",
                reason="safety_note_required",
                alert_ids=[a.id for a in open_crisis],
            )
        now = utcnow()
        for alert in open_crisis:
            if alert.acknowledged_by is None:
                alert.acknowledged_by = actor.id
                alert.acknowledged_at = now
            alert.status = AlertStatus.RESOLVED
            alert.resolved_by = actor.id
            alert.resolved_at = now
            alert.resolution_notes = note
        room.risk_reviewed_by = actor.id
        room.risk_reviewed_at = now
        risk_changed(room)
        audit.record(
            session, actor=actor, action="room_closed_with_safety_note", room_id=room_id,
            alert_ids=[a.id for a in open_crisis], safety_note=note,
        )  # fmt: skip
        views = [alert_view(a) for a in open_crisis]
    for view in views:
        await domain.events.alert(view)
    return views


async def lower_risk(
    domain: Domain, *, actor: Principal, room_id: str, level: object, note: object
) -> dict[str, Any]:
    """Staff with access lower a room's risk on purpose, saying why: the only way it falls."""
    if not actor.is_staff:
        raise Forbidden("only staff can review a room's risk")
    if not isinstance(level, str) or level not in tuple(RiskLevel):
        raise BadRequest(f"level must be one of {', '.join(RiskLevel)}")
    if not isinstance(note, str) or not note.strip():
        raise BadRequest("note is required: say why the risk is lower now")
    if len(note) > MAX_NOTE_CHARS:
        raise BadRequest(f"note must be at most {MAX_NOTE_CHARS} characters")
    target = RiskLevel(level)
    async with domain.db.write() as session:
        room = await access.load_room(session, room_id, for_update=True)
        if not access.can_manage(actor, room):
            raise Forbidden("only the assigned peer worker or a supervisor can review this room")
        current = RiskLevel.of(room.risk_level)
        if target.rank > current.rank:
            raise BadRequest(f"the room's risk is {current}; this lowers it, never raises it")
        now = utcnow()
        room.risk_level = target
        room.risk_score = room_risk_score(target, room.last_sentiment)
        room.risk_reviewed_by = actor.id
        room.risk_reviewed_at = now
        risk_changed(room)
        audit.record(
            session, actor=actor, action="room_risk_lowered", room_id=room_id,
            previous=str(current), level=str(target), note=note.strip(),
        )  # fmt: skip
        view = room_risk_view(room)
        event = risk_event(room)
    await domain.events.room_risk(room_id, event)
    await domain.events.queue_changed(room_id)
    return {"room_id": room_id, "risk": view}


async def _load(session: Any, alert_id: str) -> Alert:
    alert: Alert | None = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("no such alert")
    return alert
