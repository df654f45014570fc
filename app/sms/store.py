"""SMS storage: contacts, inbound texts and the outbox. No framework, no provider, no logs of
numbers. Claims are conditional updates on rows locked with SKIP LOCKED (PostgreSQL) or under
SQLite's single writer, so each row is worked on by one node at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.clock import new_id, utcnow
from app.core.context import Domain
from app.sms.content import segments
from app.sms.content.keywords import Keyword
from app.sms.models import InboundStatus, OutboxStatus, SmsContact, SmsInbound, SmsOutbox
from app.sms.numbers import NumberVault
from app.sms.provider import InboundText

UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


async def insert_ignore(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on either database; returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(rows).on_conflict_do_nothing()
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


# contacts and inbound texts


async def record_inbound(
    domain: Domain, *, provider: str, text: InboundText, vault: NumberVault, keyword: Keyword
) -> bool:
    """The webhook's one transaction: the sender's contact (hash; the number sealed unless they
    are opting out) and the text, keyed by the provider's id. False for a replay."""
    for attempt in range(2):
        try:
            return await _record_inbound(domain, provider, text, vault, keyword)
        except IntegrityError:  # two first texts from one number raced on two nodes
            if attempt:
                raise
    return False


async def _record_inbound(
    domain: Domain, provider: str, text: InboundText, vault: NumberVault, keyword: Keyword
) -> bool:
    digest = vault.digest(text.sender)
    now = utcnow()
    async with domain.db.write() as session:
        contact = (
            await session.execute(
                select(SmsContact).where(SmsContact.number_hash == digest).with_for_update()
            )
        ).scalar_one_or_none()
        keep_number = keyword is not Keyword.STOP and (
            contact is None or not contact.opted_out or keyword is Keyword.START
        )
        if contact is None:
            contact = SmsContact(
                id=new_id("smsc"),
                provider=provider,
                number_hash=digest,
                room_seq=0,
                opted_out=False,
                created_at=now,
                updated_at=now,
            )
            session.add(contact)
        if keep_number:
            contact.number_sealed = vault.seal(text.sender)
        contact.updated_at = now
        await session.flush()
        added = await insert_ignore(
            session,
            SmsInbound,
            [
                {
                    "provider": provider,
                    "provider_message_id": text.message_id,
                    "contact_id": contact.id,
                    "body": text.body,
                    "status": InboundStatus.RECEIVED,
                    "attempts": 0,
                    "received_at": now,
                }
            ],
        )
    return added > 0


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    contact_id: str
    provider_message_id: str
    body: str
    attempts: int


async def _claimable_ids(
    session: AsyncSession,
    table: type[SmsInbound] | type[SmsOutbox],
    *conditions: ColumnElement[bool],
    limit: int,
) -> list[int]:
    """The oldest rows meeting ``conditions``, locked for this claim; rows another node is
    claiming right now are skipped (PostgreSQL), so two nodes never take the same row."""
    result = await session.execute(
        select(table.id)
        .where(*conditions)
        .order_by(table.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def claim_inbound(
    domain: Domain, *, node: str, limit: int, lease_seconds: float
) -> list[Claimed]:
    """The oldest texts whose sender has nothing older still unprocessed: per person, in order."""
    now = utcnow()
    earlier = aliased(SmsInbound)
    due = or_(
        SmsInbound.status == InboundStatus.RECEIVED,
        and_(SmsInbound.status == InboundStatus.PROCESSING, SmsInbound.claimed_until < now),
    )
    blocked = exists().where(
        earlier.contact_id == SmsInbound.contact_id,
        earlier.id < SmsInbound.id,
        earlier.status.in_((InboundStatus.RECEIVED, InboundStatus.PROCESSING)),
    )
    async with domain.db.write() as session:
        ids = await _claimable_ids(session, SmsInbound, due, ~blocked, limit=limit)
        if not ids:
            return []
        rows = await session.execute(
            update(SmsInbound)
            .where(SmsInbound.id.in_(ids), due)
            .values(
                status=InboundStatus.PROCESSING,
                claimed_by=node,
                claimed_until=now + timedelta(seconds=lease_seconds),
                attempts=SmsInbound.attempts + 1,
            )
            .returning(
                SmsInbound.id,
                SmsInbound.contact_id,
                SmsInbound.provider_message_id,
                SmsInbound.body,
                SmsInbound.attempts,
            )
        )
        found = [
            Claimed(r.id, r.contact_id, r.provider_message_id, r.body or "", r.attempts)
            for r in rows
        ]
    return sorted(found, key=lambda c: c.id)


async def finish_inbound(domain: Domain, row_id: int, *, outcome: str, failed: bool) -> None:
    """Done (or given up): the body goes, it is a message now or was never one."""
    async with domain.db.write() as session:
        await session.execute(
            update(SmsInbound)
            .where(SmsInbound.id == row_id)
            .values(
                status=InboundStatus.FAILED if failed else InboundStatus.DONE,
                outcome=outcome[:32],
                body=None,
                processed_at=utcnow(),
                claimed_until=None,
            )
        )


async def release_inbound(domain: Domain, row_id: int) -> None:
    async with domain.db.write() as session:
        await session.execute(
            update(SmsInbound)
            .where(SmsInbound.id == row_id)
            .values(status=InboundStatus.RECEIVED, claimed_until=None)
        )


# the outbox


def outbox_rows(
    *,
    key: str,
    contact_id: str,
    text: str,
    max_segments: int,
    room_id: str | None = None,
    message_id: str | None = None,
) -> list[dict[str, Any]]:
    """One row per part of a text; part n of thing `key` is `key:n` whichever node adds it."""
    parts = segments.split(text, max_segments)
    now = utcnow()
    return [
        {
            "dedupe_key": f"{key}:{n}"[:120],
            "contact_id": contact_id,
            "room_id": room_id,
            "message_id": message_id,
            "part": n,
            "parts": len(parts),
            "body": part,
            "encoding": segments.encoding(part),
            "segments": segments.segment_count(part),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "maybe_sent": False,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n, part in enumerate(parts, start=1)
    ]


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    return await insert_ignore(session, SmsOutbox, rows)


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    contact_id: str
    body: str
    attempts: int
    maybe_sent: bool
    created_at: datetime


async def claim_outbox(
    domain: Domain, *, node: str, limit: int, lease_seconds: float
) -> list[Outgoing]:
    """Due rows, at most one in flight per contact (so parts and replies arrive in order). A row
    whose lease ran out (its node died mid-send) may have reached the provider: maybe_sent."""
    now = utcnow()
    earlier = aliased(SmsOutbox)
    expired = and_(SmsOutbox.status == OutboxStatus.SENDING, SmsOutbox.claimed_until < now)
    due = or_(
        and_(SmsOutbox.status == OutboxStatus.PENDING, SmsOutbox.next_attempt_at <= now), expired
    )
    blocked = exists().where(
        earlier.contact_id == SmsOutbox.contact_id,
        earlier.id < SmsOutbox.id,
        earlier.status.in_(UNSENT),
    )
    async with domain.db.write() as session:
        ids = await _claimable_ids(session, SmsOutbox, due, ~blocked, limit=limit)
        if not ids:
            return []
        rows = await session.execute(
            update(SmsOutbox)
            .where(SmsOutbox.id.in_(ids), due)
            .values(
                maybe_sent=case((expired, True), else_=SmsOutbox.maybe_sent),
                status=OutboxStatus.SENDING,
                claimed_by=node,
                claimed_until=now + timedelta(seconds=lease_seconds),
                attempts=SmsOutbox.attempts + 1,
            )
            .returning(
                SmsOutbox.id,
                SmsOutbox.contact_id,
                SmsOutbox.body,
                SmsOutbox.attempts,
                SmsOutbox.maybe_sent,
                SmsOutbox.created_at,
            )
        )
        found = [
            Outgoing(r.id, r.contact_id, r.body or "", r.attempts, bool(r.maybe_sent), r.created_at)
            for r in rows
        ]
    return sorted(found, key=lambda o: o.id)


async def mark_sent(domain: Domain, row_id: int, provider_message_id: str) -> None:
    async with domain.db.write() as session:
        await session.execute(
            update(SmsOutbox)
            .where(SmsOutbox.id == row_id)
            .values(
                status=OutboxStatus.SENT,
                provider_message_id=provider_message_id[:64],
                sent_at=utcnow(),
                body=None,
                claimed_until=None,
                last_error=None,
            )
        )


async def mark_retry(
    domain: Domain, row_id: int, *, error: str, at: datetime, maybe_sent: bool
) -> None:
    async with domain.db.write() as session:
        await session.execute(
            update(SmsOutbox)
            .where(SmsOutbox.id == row_id, SmsOutbox.status == OutboxStatus.SENDING)
            .values(
                status=OutboxStatus.PENDING,
                next_attempt_at=at,
                last_error=error[:200],
                maybe_sent=SmsOutbox.maybe_sent | maybe_sent,
                claimed_until=None,
            )
        )


async def mark_failed(domain: Domain, row_id: int, *, error: str, cancelled: bool = False) -> None:
    async with domain.db.write() as session:
        await session.execute(
            update(SmsOutbox)
            .where(SmsOutbox.id == row_id, SmsOutbox.status == OutboxStatus.SENDING)
            .values(
                status=OutboxStatus.CANCELLED if cancelled else OutboxStatus.FAILED,
                last_error=error[:200],
                body=None,
                claimed_until=None,
            )
        )


async def record_delivery(
    domain: Domain, *, provider_message_id: str, status: str, error_code: str | None
) -> bool:
    async with domain.db.write() as session:
        result = await session.execute(
            update(SmsOutbox)
            .where(SmsOutbox.provider_message_id == provider_message_id)
            .values(
                delivery_status=status[:16],
                delivery_error=(error_code or None),
                delivery_at=utcnow(),
            )
        )
    return bool(getattr(result, "rowcount", 0))


async def cancel_unsent(session: AsyncSession, contact_ids: Sequence[str]) -> None:
    """Nothing queued goes out. A text in the middle of its call to the provider may still
    arrive (its outcome is recorded as it is); it is never retried."""
    await session.execute(
        update(SmsOutbox)
        .where(SmsOutbox.contact_id.in_(contact_ids), SmsOutbox.status.in_(UNSENT))
        .values(status=OutboxStatus.CANCELLED, body=None, last_error="cancelled")
    )


async def forget_participant(session: AsyncSession, *, participant_id: str) -> None:
    """For "delete my data", inside its transaction: the number (hash and sealed copy), every
    text still waiting to go out or to be processed, all gone."""
    contact_ids = list(
        (
            await session.execute(
                select(SmsContact.id)
                .where(SmsContact.participant_id == participant_id)
                .with_for_update()
            )
        ).scalars()
    )
    for contact_id in contact_ids:
        await forget_contact(session, contact_id)


async def forget_contact(session: AsyncSession, contact_id: str) -> None:
    """One number's hash, sealed copy, queued texts and unprocessed words, inside the caller's
    transaction (rows of texts already sent keep only their delivery status). The contact is
    locked first, so that forwarding (which holds it while adding outbox rows) finishes before
    or skips it after: no row with words is added behind the deletion."""
    await session.execute(
        select(SmsContact.id).where(SmsContact.id == contact_id).with_for_update()
    )
    contact_ids = [contact_id]
    await cancel_unsent(session, contact_ids)
    await session.execute(
        update(SmsOutbox).where(SmsOutbox.contact_id.in_(contact_ids)).values(body=None)
    )
    await session.execute(
        update(SmsInbound)
        .where(SmsInbound.contact_id.in_(contact_ids))
        .values(body=None, status=InboundStatus.DONE, outcome="deleted")
    )
    await session.execute(delete(SmsContact).where(SmsContact.id.in_(contact_ids)))


async def purge_before(domain: Domain, cutoff: datetime) -> int:
    """Retention: the bookkeeping of texts finished before cutoff (bodies are long gone)."""
    async with domain.db.write() as session:
        inbound = await session.execute(
            delete(SmsInbound).where(
                SmsInbound.status.in_((InboundStatus.DONE, InboundStatus.FAILED)),
                SmsInbound.received_at < cutoff,
            )
        )
        outbox = await session.execute(
            delete(SmsOutbox).where(SmsOutbox.status.not_in(UNSENT), SmsOutbox.created_at < cutoff)
        )
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (inbound, outbox))
