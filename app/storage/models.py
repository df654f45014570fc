"""ORM models: the source of truth. The bus only carries news about what is stored here."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Channel(StrEnum):
    """How a participant reaches the service."""

    WEB = "web"
    SMS = "sms"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A staff account: peer worker, supervisor or admin."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    handle: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    experience_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Tokens issued before this (a new password) are refused."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Participant(Base):
    """An anonymous person seeking support: a generated handle and nothing personal."""

    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    handle: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # one_to_one | group
    status: Mapped[str] = mapped_column(String(16))  # waiting | active | closed
    name: Mapped[str | None] = mapped_column(String(120))
    topic: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(40))
    close_notes: Mapped[str | None] = mapped_column(Text)
    # The room's sequencer: the last seq handed out. Incremented in the same transaction as the
    # insert of the message that takes it, so seqs are gapless.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Monitoring state, kept on the room so that the queue is one query.
    risk_level: Mapped[str] = mapped_column(String(16), default="none")
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    last_sentiment: Mapped[float | None] = mapped_column(Float)
    sentiment_trend: Mapped[float | None] = mapped_column(Float)
    # How the participant reaches the service: web | sms (additive: the worker sees it).
    channel: Mapped[str] = mapped_column(String(8), default=Channel.WEB, server_default="web")
    # A group whose moderators paused it: no new members, no participant messages, until resumed.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The room's risk only falls when staff say so (POST /rooms/{id}/risk); who last reviewed it
    # (resolved an alert, or lowered it) and when, shown beside the level.
    risk_reviewed_by: Mapped[str | None] = mapped_column(String(40))
    risk_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counts every change to the four fields above (safety.scores.risk_changed), so that a page
    # told of the room's risk by several channels (room frames, queue snapshots, HTTP replies),
    # which arrive in no set order, keeps the newest and never an older one.
    risk_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_rooms_status_kind", "status", "kind"),)


class Membership(Base):
    """Who belongs to a room and as what; left_at marks a past member, kept for the record."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    # participant | supporter | moderator | observer
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Group moderation (the reasons are in the audit log): a muted member reads but cannot post;
    # a removed one has left and may not join again.
    muted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When this member was last offered crisis resources in this room: at most one offer per
    # interval per person, so a second participant in crisis in the same group still gets one.
    support_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("room_id", "member_id", name="uq_memberships_room_member"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(String(40))
    sender_handle: Mapped[str] = mapped_column(String(64))
    sender_role: Mapped[str] = mapped_column(String(16))
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Scores from the model; null until scored. Never shown to participants.
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    emotions: Mapped[dict[str, float] | None] = mapped_column(JSON)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    risk_reasons: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
        UniqueConstraint(
            "room_id", "sender_id", "client_msg_id", name="uq_messages_room_sender_client"
        ),
        Index(
            "ix_messages_unscored",
            "sent_at",
            sqlite_where=text("scored_at IS NULL"),
            postgresql_where=text("scored_at IS NULL"),
        ),
    )


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(16))  # crisis | warning
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # Model evidence (reference sentences, similarities, classifier scores); never the
    # participant's words, so erasing them (DELETE /me) need not touch it.
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    message_seq: Mapped[int | None] = mapped_column(Integer)
    attached_count: Mapped[int] = mapped_column(Integer, default=0)
    # How many times the participant pressed "I need help now" while this alert was unresolved.
    help_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # One unresolved alert per room and severity: later messages attach to it.
        Index(
            "uq_alerts_one_open",
            "room_id",
            "severity",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_status_created", "status", "created_at"),
    )


class StaffNote(Base):
    """A note staff keep about a room: never shown to participants, never a message, no seq."""

    __tablename__ = "staff_notes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(String(40))
    author_handle: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(16))
    client_msg_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "room_id", "author_id", "client_msg_id", name="uq_staff_notes_room_author_client"
        ),
        Index("ix_staff_notes_room_created", "room_id", "created_at"),
    )


class AuditEntry(Base):
    """Who did what to whom: staff reads of transcripts, claims, transfers, alert handling."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    room_id: Mapped[str | None] = mapped_column(String(40), index=True)
    target_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Block(Base):
    """A participant's choice not to see another participant: applied at fan-out and in history
    for the blocker only. Kept until either person deletes their data."""

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    blocker_id: Mapped[str] = mapped_column(String(40), index=True)
    blocked_id: Mapped[str] = mapped_column(String(40), index=True)
    room_id: Mapped[str | None] = mapped_column(String(40))  # where it was asked, for the record
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id", name="uq_blocks_pair"),)


class Report(Base):
    """A participant's report of a message, for the room's moderators to look at."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    message_sender_id: Mapped[str] = mapped_column(String(40))
    reported_by: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("room_id", "seq", "reported_by", name="uq_reports_message_reporter"),
        Index("ix_reports_status_created", "status", "created_at"),
    )


class CheckIn(Base):
    """How a participant felt at the start or end of a conversation (1 to 5), optionally with a
    short comment. One per phase per participant per room: a second one replaces the first."""

    __tablename__ = "checkins"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40), index=True)
    phase: Mapped[str] = mapped_column(String(8))  # start | end
    mood: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "room_id", "participant_id", "phase", name="uq_checkins_room_participant_phase"
        ),
    )


class CannedResponse(Base):
    """A saved reply staff insert into a conversation and edit before sending (a greeting, "I'm
    still here", the helplines, a closing). Supervisors and admins manage them; every change is
    audited."""

    __tablename__ = "canned_responses"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(40))
    updated_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
