"""Escalation: alerts are written before they are published, and re-sent until acknowledged."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.core import audit
from app.core.clock import iso, new_id, utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity, AlertStatus, RiskLevel, Role
from app.core.errors import BadRequest, Conflict, Forbidden, NotFound
from app.core.identity import Principal
from app.core.text import EXCERPT_CHARS
from app.safety.scores import lift_room_level, room_risk_score
from app.storage.models import Alert, Message, Room

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
    }


def _require_oversight(principal: Principal) -> None:
    if not principal.has_oversight:
        raise Forbidden("only supervisors can see and handle alerts")


@dataclass(frozen=True, slots=True)
class Raised:
    alert: dict[str, Any]
    created: bool


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
    of flooding supervisors. Only a new alert is published; attaching is recorded."""
    if severity not in SEVERITIES:
        raise BadRequest(f"severity must be one of {SEVERITIES}")
    for _ in range(3):
        try:
            async with domain.db.write() as session:
                alert, created = await _attach_or_add(
                    session, room_id=room_id, severity=severity, reason=reason,
                    excerpt=excerpt, message_seq=message_seq, evidence=evidence,
                )  # fmt: skip
            return await _published(domain, alert, created)
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
) -> tuple[Alert, bool]:
    """The alert, attached to or added in the caller's transaction, and whether it is new. A
    new one can fail the unique index at the commit: raise_or_attach retries that."""
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
        return existing, False
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
        created_at=utcnow(),
        last_sent_at=utcnow(),
    )
    session.add(alert)
    return alert, True


async def _published(domain: Domain, alert: Alert, created: bool) -> Raised:
    """After the commit: only a new alert is published; attaching is recorded."""
    view = alert_view(alert)
    if created:
        await domain.events.alert(view)
    return Raised(view, created=created)


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
        await _settle_room_level(session, alert.room_id)
        view = alert_view(alert)
    await domain.events.alert(view)
    await domain.events.queue_changed(view["room_id"])
    return view


async def _settle_room_level(session: Any, room_id: str) -> None:
    """Once no alert is left unresolved, the room's level falls back to what its latest
    participant message says: the queue stops shouting about a situation that was handled."""
    still_open = (
        await session.execute(
            select(Alert.id)
            .where(Alert.room_id == room_id, Alert.status != AlertStatus.RESOLVED)
            .limit(1)
        )
    ).first()
    if still_open is not None:
        return
    latest = (
        await session.execute(
            select(Message.risk_level)
            .where(
                Message.room_id == room_id,
                Message.sender_role == Role.PARTICIPANT,
                Message.risk_level.is_not(None),
            )
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    room = await session.get(Room, room_id)
    if room is not None:
        room.risk_level = latest or RiskLevel.NONE
        room.risk_score = room_risk_score(room.risk_level, room.last_sentiment)


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
    """The participant's own "I need help now": a crisis alert at once, no model involved."""
    if not participant.is_participant:
        raise Forbidden("only participants ask for help this way")
    for _ in range(3):
        try:
            # One transaction: the check, the alert and the room's level commit together.
            async with domain.db.write() as session:
                await access.load_room(session, room_id)
                if await access.active_membership(session, room_id, participant.id) is None:
                    raise Forbidden("you are not in this room")
                alert, created = await _attach_or_add(
                    session,
                    room_id=room_id,
                    severity=AlertSeverity.CRISIS,
                    # No quotes: quoted text in a reason is always the participant's own words.
                    reason=f"{participant.handle} pressed the help-now button",
                )
                lifted = await lift_room_level(session, room_id=room_id, level=RiskLevel.CRISIS)
        except IntegrityError:
            continue  # another node raised the same alert a moment ago: attach to it
        raised = await _published(domain, alert, created)
        if lifted:
            await domain.events.queue_changed(room_id)
        return raised
    raise Conflict("could not raise the alert; try again")


async def _load(session: Any, alert_id: str) -> Alert:
    alert: Alert | None = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("no such alert")
    return alert
