"""Response bodies: the contract's shapes (docs/protocol.md) as types, so that the OpenAPI schema
says what each route answers and a client generator gets real models.

The domain keeps returning its plain views; these models only describe and check them at the
HTTP edge. Two rules keep them from changing what clients receive:

- Routes serialise with `exclude_unset` (see `TypedRoute`): a key the domain leaves out, such as a
  staff-only field in a participant's view, stays out instead of turning into `null`. A field that
  is sometimes absent therefore has a default; one that is always present has none.
- Every model allows extra keys. The contract may be extended freely, and a field the domain adds
  before its model does still reaches clients; it is logged once so the model can catch up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.enums import AlertSeverity, AlertStatus, RiskLevel, Role, RoomKind, RoomStatus

log = logging.getLogger(__name__)


class TypedRoute(APIRoute):
    """An API route whose response model never adds keys the domain did not send."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")
    _reported: ClassVar[set[tuple[str, str]]] = set()

    @model_validator(mode="after")
    def _note_undeclared(self) -> Out:
        """An undeclared key is passed on, not dropped; say so once so the model is updated."""
        for key in self.model_extra or ():
            seen = (type(self).__name__, key)
            if seen not in Out._reported:
                Out._reported.add(seen)
                log.warning("response field %r is not declared in %s", key, seen[0])
        return self


# --- sessions ---------------------------------------------------------------------------------


class AnonymousSessionOut(Out):
    token: str
    participant_id: str
    handle: str


class LoginOut(Out):
    token: str
    user_id: str
    role: Role
    handle: str


class MeOut(Out):
    id: str
    role: Role
    handle: str


class ClientConfigOut(Out):
    quick_exit_url: str
    max_body_chars: int


# --- rooms and messages -----------------------------------------------------------------------


class RoomStatusOut(Out):
    room_id: str
    status: RoomStatus


class ClosedRoomOut(RoomStatusOut):
    """`resolved_alerts`: the crisis alerts the safety note resolved on closing."""

    resolved_alerts: list[str] = Field(default_factory=list)


class AssignedRoomOut(RoomStatusOut):
    assigned_to: str | None


class HelpOut(Out):
    room_id: str
    status: str = Field(description='Always "help_requested".')


class Risk(Out):
    """`room risk`: the highest level reached; `reviewed_*` once an alert on it was resolved."""

    level: RiskLevel
    score: float | None
    reviewed_by: str | None = None
    reviewed_at: str | None = None


class Sentiment(Out):
    last: float | None
    trend: float | None


class QueueMatch(Out):
    score: int
    reasons: list[str]


class RoomEntry(Out):
    """A queue entry (`room entry` in the contract); `match` is for peer workers only."""

    room_id: str
    kind: RoomKind
    status: RoomStatus
    topic: str | None
    language: str | None
    waiting_since: str | None
    assigned_to: str | None
    risk: Risk
    sentiment: Sentiment
    channel: str
    preview: str | None = None
    alert: dict[str, Any] | None = None
    match: QueueMatch | None = None


class QueueOut(Out):
    rooms: list[RoomEntry]
    max_rooms: int


class RoomOut(Out):
    """`assigned_to` and `risk` are present for staff only."""

    room_id: str
    kind: RoomKind
    status: RoomStatus
    name: str | None
    topic: str | None
    last_seq: int
    channel: str
    assigned_to: str | None = None
    risk: Risk | None = None


class Sender(Out):
    id: str
    handle: str
    role: str = Field(description='A role, or "system" for notices from the service.')


class MessageOut(Out):
    room_id: str
    seq: int
    message_id: str
    client_msg_id: str | None
    sender: Sender
    body: str
    sent_at: str


class MessagesOut(Out):
    messages: list[MessageOut]


class RiskOut(Out):
    room_id: str
    risk: Risk


class NoteOut(Out):
    """A staff note: never shown to participants, never in the message history."""

    room_id: str
    note_id: str
    client_msg_id: str | None
    author: Sender
    body: str
    sent_at: str


class NotesOut(Out):
    notes: list[NoteOut]


# --- groups -----------------------------------------------------------------------------------


class RoomIdOut(Out):
    room_id: str


class GroupListed(Out):
    """`status` and `closed_at` are there when the listing was asked for by `status`."""

    room_id: str
    name: str | None
    topic: str | None
    members: int
    paused: bool
    status: RoomStatus | None = None
    closed_at: str | None = None


class GroupsOut(Out):
    groups: list[GroupListed]


class JoinedOut(Out):
    room_id: str
    joined: bool


class GroupOut(Out):
    room_id: str
    name: str | None
    topic: str | None
    status: RoomStatus
    paused: bool
    members: int | None = None


class GroupMember(Out):
    member_id: str
    handle: str
    role: str
    joined_at: str
    muted: bool


class GroupMembersOut(Out):
    room_id: str
    name: str | None
    topic: str | None
    status: RoomStatus
    paused: bool
    members: list[GroupMember]


class RemovedOut(Out):
    room_id: str
    participant_id: str
    removed: bool


class MutedOut(Out):
    room_id: str
    participant_id: str
    muted: bool


# --- alerts and the dashboard -----------------------------------------------------------------


class AlertOut(Out):
    """`alert` in the contract; `evidence` holds model evidence objects, never participant words."""

    alert_id: str
    room_id: str
    severity: AlertSeverity
    reason: str
    excerpt: str
    evidence: list[dict[str, Any]]
    created_at: str
    status: AlertStatus
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    resolution_notes: str | None
    message_seq: int | None
    attached_count: int
    help_requests: int


class AlertsOut(Out):
    alerts: list[AlertOut]


class WorkerLoad(Out):
    user_id: str
    handle: str
    active_rooms: int


class DashboardOut(Out):
    at: str
    waiting: int
    longest_wait_seconds: int
    active_rooms: int
    rooms_by_risk: dict[str, int]
    active_rooms_per_worker: list[WorkerLoad]
    open_alerts: dict[str, int]
    active_groups: int


# --- moderation -------------------------------------------------------------------------------


class BlockedOut(Out):
    blocked: str
    room_id: str


class ReportOut(Out):
    """`report` in the contract; `excerpt` (of the reported message) in the moderators' list."""

    report_id: str
    room_id: str
    seq: int
    reason: str | None
    reported_by: str
    message_sender_id: str | None
    status: str
    created_at: str
    resolved_by: str | None
    resolved_at: str | None
    excerpt: str | None = None


class ReportsOut(Out):
    reports: list[ReportOut]


# --- staff and accounts -----------------------------------------------------------------------


class ProfileOut(Out):
    user_id: str
    handle: str
    role: Role
    topics: list[str]
    languages: list[str]
    experience_tags: list[str]
    active_rooms: int


class StaffOut(Out):
    staff: list[ProfileOut]


class AccountOut(Out):
    """`account` in the contract."""

    user_id: str
    username: str
    handle: str
    role: Role
    disabled: bool
    created_at: str


class AccountsOut(Out):
    users: list[AccountOut]


class CannedOut(Out):
    """`canned` in the contract."""

    id: str
    title: str
    body: str
    position: int
    updated_at: str
    updated_by: str | None


class CannedListOut(Out):
    canned_responses: list[CannedOut]


# --- outcomes ---------------------------------------------------------------------------------


class ScaleStep(Out):
    mood: int
    label: str
    emoji: str


class CheckinScaleOut(Out):
    scale: list[ScaleStep]
    phases: list[str]
    comment_max_chars: int


class CheckinOut(Out):
    room_id: str
    phase: str
    mood: int
    comment: str | None
    created_at: str
    replaced: bool


class OutcomeAlerts(Out):
    total: int
    by_severity: dict[str, int]
    first_ack_seconds: float | None


class Mood(Out):
    before: int | None
    after: int | None
    change: int | None


class ConversationOut(Out):
    room_id: str
    status: RoomStatus
    topic: str | None
    waiting_since: str | None
    claimed_at: str | None
    closed_at: str | None
    wait_seconds: float | None
    duration_seconds: float | None
    alerts: OutcomeAlerts
    mood: Mood


class Person(Out):
    id: str
    handle: str


class MessageCounts(Out):
    participant: int
    staff: int


class SentimentPath(Out):
    scored: int
    start: float | None
    lowest: float | None
    end: float | None


class Comments(Out):
    before: str | None
    after: str | None


class OutcomeOut(ConversationOut):
    """One conversation's outcome; `comments` for supervisors only."""

    assigned_to: Person | None
    messages: MessageCounts
    sentiment: SentimentPath
    comments: Comments | None = None


class MyOutcomesOut(Out):
    at: str
    conversations: list[ConversationOut]
    hours_today: float
    hours_this_week: float
    active_rooms: int
    max_rooms: int


class Figure(Out):
    """A figure, withheld (`suppressed`, with a `reason`) when too few people are behind it."""

    value: float | None
    n: int
    suppressed: bool
    reason: str | None


class WorkerInsight(Out):
    handle: str
    conversations: int
    active_hours: float


class InsightsOut(Out):
    from_: str = Field(alias="from")
    to: str
    min_group: int
    percentile_method: str
    figures: dict[str, Figure]
    workers: list[WorkerInsight]

    model_config = ConfigDict(extra="allow", populate_by_name=True)
