"""SMS tables: who texts (hashed), what came in (keyed by the provider's id), what goes out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.storage.models import Base, UTCDateTime


class InboundStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SmsContact(Base):
    """One phone number, known only by a keyed hash; `number_sealed` (Fernet) exists only while
    texts may still have to go to it, and is erased on STOP, deletion, or when the conversation
    has ended and everything for it was sent."""

    __tablename__ = "sms_contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    number_sealed: Mapped[str | None] = mapped_column(Text)
    participant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # The conversation texts go to and come from, and how far it has been forwarded by SMS.
    room_id: Mapped[str | None] = mapped_column(String(40), index=True)
    room_seq: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The closed conversation whose "reply 1-5" check-in is awaited.
    checkin_room_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsInbound(Base):
    """A received text, stored before the webhook is answered; processed afterwards, in order
    per contact, by whichever node claims it. The body is erased once it is a message."""

    __tablename__ = "sms_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.RECEIVED)
    outcome: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_sms_inbound_provider_id"),
        Index("ix_sms_inbound_status", "status", "id"),
    )


class SmsOutbox(Base):
    """One SMS to send. `dedupe_key` makes each thing to send one row whichever node enqueues
    it; a node claims a row (status `sending`, a lease) before calling the provider, so two
    nodes never send the same row; the body is erased once sent."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    contact_id: Mapped[str] = mapped_column(String(40), index=True)
    room_id: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[str | None] = mapped_column(String(40))
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    body: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8), default="GSM-7")
    segments: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The last attempt may have reached the provider (a lost answer): look before resending.
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(String(16))
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sms_outbox_status_due", "status", "next_attempt_at"),)
