"""From the conversation to the phone: forwarding stored messages into the outbox, sending the
outbox through the provider, and forgetting numbers nothing more will be sent to.

Forwarding reads storage (messages after the contact's cursor), not the bus, so a message
stored on any node, or while this node was down, is still sent; the cursor moves in the same
transaction that adds the outbox rows, and each row's key is unique, so nothing is added
twice. Sending claims rows (one node per row), so nothing is sent twice either; a send whose
answer was lost is looked up at the provider before it is tried again."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy import exists, select, update

from app.chat.messages import messages_after
from app.core.clock import utcnow
from app.core.enums import RoomStatus
from app.sms import store
from app.sms.context import SmsContext
from app.sms.models import InboundStatus, OutboxStatus, SmsContact, SmsInbound, SmsOutbox
from app.sms.provider import SendFailed
from app.storage.models import Room

log = logging.getLogger(__name__)
FORWARD_PAGE = 200
CHECKIN_PROMPT = "Before you go: how do you feel now? Reply 1 (very low), 2, 3, 4 or 5 (very good)."


def outgoing_text(sender_role: str, sender_handle: str, body: str) -> str:
    """A phone shows one sender, the service's number: staff lines say who wrote them."""
    return body if sender_role == "system" else f"{sender_handle}: {body}"


async def forward(sms: SmsContext) -> int:
    """Outbox rows for every message that reached an SMS conversation since its cursor."""
    async with sms.domain.db.read() as session:
        behind = list(
            (
                await session.execute(
                    select(SmsContact.id)
                    .join(Room, Room.id == SmsContact.room_id)
                    .where(Room.last_seq > SmsContact.room_seq)
                    .limit(500)
                )
            ).scalars()
        )
    added = 0
    for contact_id in behind:
        added += await _forward_one(sms, contact_id)
    return added


async def _forward_one(sms: SmsContext, contact_id: str) -> int:
    settings = sms.settings
    async with sms.domain.db.write() as session:
        contact = (
            await session.execute(
                select(SmsContact)
                .where(SmsContact.id == contact_id)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if contact is None or contact.room_id is None:
            return 0
        room = await session.get(Room, contact.room_id)
        if room is None:
            return 0
        rows = await messages_after(
            session, room_id=room.id, after_seq=contact.room_seq, limit=FORWARD_PAGE
        )
        outgoing = []
        sendable = not contact.opted_out and contact.number_sealed is not None
        for message in rows:
            if message.sender_id != contact.participant_id and sendable:
                text = outgoing_text(message.sender_role, message.sender_handle, message.body)
                outgoing += store.outbox_rows(
                    key=f"msg:{message.id}",
                    contact_id=contact.id,
                    text=text,
                    max_segments=settings.sms_max_segments,
                    room_id=room.id,
                    message_id=message.id,
                )
            contact.room_seq = message.seq
        if (
            sendable
            and room.status == RoomStatus.CLOSED
            and contact.room_seq >= room.last_seq
            and room.claimed_at is not None
            and room.closed_by != contact.participant_id
        ):
            outgoing += store.outbox_rows(
                key=f"checkin:{room.id}",
                contact_id=contact.id,
                text=CHECKIN_PROMPT,
                max_segments=settings.sms_max_segments,
                room_id=room.id,
            )
            contact.checkin_room_id = room.id
        return await store.enqueue(session, outgoing)


async def send_due(sms: SmsContext) -> int:
    """Claim what is due and send it; returns how many rows were worked on."""
    claimed = await store.claim_outbox(
        sms.domain,
        node=sms.settings.node_id,
        limit=20,
        lease_seconds=sms.settings.sms_lease_seconds,
    )
    # At most one row per phone is claimed, so these may go at once without reordering a
    # conversation; the claim's limit bounds how many calls to the provider are in flight.
    results = await asyncio.gather(
        *(_send_one(sms, row) for row in claimed), return_exceptions=True
    )
    for row, result in zip(claimed, results, strict=True):
        if isinstance(result, BaseException):  # storage away: the lease expires, it is retried
            log.warning("sms outbox %s: send round failed (%s)", row.id, type(result).__name__)
    return len(claimed)


async def _send_one(sms: SmsContext, row: store.Outgoing) -> None:
    async with sms.domain.db.read() as session:
        contact = await session.get(SmsContact, row.contact_id)
    number = (
        sms.vault.open(contact.number_sealed)
        if contact is not None and contact.number_sealed and not contact.opted_out
        else None
    )
    if number is None:
        # Opted out, deleted, or sealed with a key no longer configured: nothing can go.
        await store.mark_failed(sms.domain, row.id, error="no number to send to", cancelled=True)
        return
    try:
        if row.maybe_sent:
            found = await sms.provider.find_sent(to=number, body=row.body, since=row.created_at)
            if found is not None:
                await store.mark_sent(sms.domain, row.id, found)
                log.info("sms outbox %s: found at the provider, not sent again", row.id)
                return
        sid = await sms.provider.send(to=number, body=row.body, status_callback=sms.status_url)
    except SendFailed as exc:
        attempts = sms.settings.sms_send_attempts
        if exc.retry and row.attempts < attempts:
            delay = min(
                sms.settings.sms_retry_max_seconds,
                sms.settings.sms_retry_base_seconds * 2 ** (row.attempts - 1),
            ) * random.uniform(0.8, 1.2)
            sms.metrics.send_errors.labels(result="retried").inc()
            await store.mark_retry(
                sms.domain,
                row.id,
                error=exc.detail,
                maybe_sent=exc.maybe_sent,
                at=utcnow() + timedelta(seconds=delay),
            )
            log.warning(
                "sms outbox %s: attempt %d failed (%s); retrying in %.1fs",
                row.id,
                row.attempts,
                exc.detail,
                delay,
            )
        else:
            sms.metrics.send_errors.labels(result="failed").inc()
            await store.mark_failed(sms.domain, row.id, error=exc.detail)
            log.error(
                "sms outbox %s: not sent after %d attempts (%s)", row.id, row.attempts, exc.detail
            )
        return
    await store.mark_sent(sms.domain, row.id, sid)
    sms.metrics.sent.inc()


async def forget_numbers(sms: SmsContext) -> int:
    """Erase the sealed number of contacts whose conversation has ended and been sent in full,
    with nothing queued for them: it is kept no longer than sending needs it."""
    quiet_since = utcnow() - timedelta(seconds=sms.settings.sms_lease_seconds)
    unsent = exists().where(
        SmsOutbox.contact_id == SmsContact.id,
        SmsOutbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
    )
    unread = exists().where(
        SmsInbound.contact_id == SmsContact.id,
        SmsInbound.status.in_((InboundStatus.RECEIVED, InboundStatus.PROCESSING)),
    )
    async with sms.domain.db.write() as session:
        ids = list(
            (
                await session.execute(
                    select(SmsContact.id)
                    .outerjoin(Room, Room.id == SmsContact.room_id)
                    .where(
                        SmsContact.number_sealed.is_not(None),
                        SmsContact.updated_at < quiet_since,
                        (Room.id.is_(None))
                        | (
                            (Room.status == RoomStatus.CLOSED)
                            & (SmsContact.room_seq >= Room.last_seq)
                        ),
                        ~unsent,
                        ~unread,
                    )
                    .limit(500)
                    .with_for_update(skip_locked=True, of=SmsContact)
                )
            ).scalars()
        )
        if ids:
            await session.execute(
                update(SmsContact).where(SmsContact.id.in_(ids)).values(number_sealed=None)
            )
    return len(ids)
