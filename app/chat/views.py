"""What a stored message looks like on the wire: one shape for the WebSocket, the HTTP history,
the writer's acks and the monitoring's staff frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from app.core.clock import iso
from app.storage.models import Message


def message_view(message: Message) -> dict[str, Any]:
    """The contract's `message`. Scores are deliberately absent: this shape reaches participants."""
    return view_of(
        room_id=message.room_id, seq=message.seq, message_id=message.id,
        client_msg_id=message.client_msg_id, sender_id=message.sender_id,
        sender_handle=message.sender_handle, sender_role=message.sender_role,
        body=message.body, sent_at=message.sent_at,
    )  # fmt: skip


def view_of(
    *, room_id: str, seq: int, message_id: str, client_msg_id: str | None, sender_id: str,
    sender_handle: str, sender_role: str, body: str, sent_at: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The same shape from the writer's own columns, before any ORM object exists."""
    return {
        "room_id": room_id,
        "seq": seq,
        "message_id": message_id,
        "client_msg_id": client_msg_id,
        "sender": {"id": sender_id, "handle": sender_handle, "role": sender_role},
        "body": body,
        "sent_at": iso(sent_at),
    }


class ShowsRisk(Protocol):
    """What ``room_risk_view`` reads: a ``Room``, or a batch's state of one not yet loaded."""

    @property
    def risk_level(self) -> str: ...
    @property
    def risk_score(self) -> float: ...
    @property
    def risk_reviewed_by(self) -> str | None: ...
    @property
    def risk_reviewed_at(self) -> datetime | None: ...
    @property
    def risk_version(self) -> int: ...


def room_risk_view(room: ShowsRisk) -> dict[str, Any]:
    """The one risk a room shows staff (queue, room details, room_risk frames, dashboard): the
    highest level the conversation reached, until staff lower it, and who last reviewed it.
    ``version`` orders these views: of two, the higher version is the newer state."""
    return {
        "level": room.risk_level,
        "score": room.risk_score,
        "reviewed_by": room.risk_reviewed_by,
        "reviewed_at": iso(room.risk_reviewed_at) if room.risk_reviewed_at else None,
        "version": room.risk_version or 0,
    }
