"""Frames on /ws. Participant and staff frames are built by different functions, so that risk
fields cannot reach a participant by accident."""

from __future__ import annotations

from typing import Any

import orjson

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4408
"""The client fell too far behind: reconnect and join with after_seq to resume."""

CLIENT_TYPES = frozenset({"auth", "join", "send", "typing", "leave", "subscribe", "ping", "note"})


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def parse(text: str) -> dict[str, Any]:
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("bad_request", "frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_request", "frames must be JSON objects")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_request", "every frame needs a string 'type'")
    if kind not in CLIENT_TYPES:
        raise FrameError("bad_request", f"unknown frame type {kind[:40]!r}")
    return frame


def room_id_of(frame: dict[str, Any]) -> str:
    room_id = frame.get("room_id")
    if not isinstance(room_id, str) or not 1 <= len(room_id) <= 64 or "\x00" in room_id:
        raise FrameError("bad_request", "room_id must be a room id string")
    return room_id


def optional_seq(frame: dict[str, Any], name: str) -> int | None:
    value = frame.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**53:
        raise FrameError("bad_request", f"{name} must be a whole number from 0 to 2^53")
    return value


def error(code: str, detail: str, **context: Any) -> str:
    return encode({"type": "error", "code": code, "detail": detail, **context})


# Frames every member may see.


def message(view: dict[str, Any]) -> str:
    return encode({"type": "message", **view})


def presence(room_id: str, online: list[str]) -> str:
    return encode({"type": "presence", "room_id": room_id, "online": online})


def typing(room_id: str, handle: str) -> str:
    return encode({"type": "typing", "room_id": room_id, "handle": handle})


def support(event: dict[str, Any]) -> str:
    """To the participant alone: calm words and crisis resources; no score, level or model."""
    return encode(
        {
            "type": "support",
            "room_id": event["room_id"],
            "message": event["message"],
            "resources": event.get("resources") or [],
        }
    )


def waiting(room_id: str, position: int, estimated_wait_seconds: int | None) -> str:
    return encode(
        {
            "type": "waiting",
            "room_id": room_id,
            "position": position,
            "estimated_wait_seconds": estimated_wait_seconds,
        }
    )


# Frames for staff only.


def staff_note(note: dict[str, Any]) -> str:
    return encode({"type": "note", **note})


def staff_note_ack(note: dict[str, Any]) -> str:
    return encode(
        {
            "type": "note_ack",
            "room_id": note["room_id"],
            "client_msg_id": note["client_msg_id"],
            "note_id": note["note_id"],
            "sent_at": note["sent_at"],
        }
    )


def staff_help_requested(event: dict[str, Any]) -> str:
    """The participant pressed "I need help now": the staff in the room see it at once."""
    return encode(
        {
            "type": "help_requested",
            "room_id": event["room_id"],
            "handle": event.get("handle"),
            "alert_id": event.get("alert_id"),
            "help_requests": event.get("help_requests"),
            "at": event.get("at"),
        }
    )


def staff_dashboard(snapshot: dict[str, Any]) -> str:
    return encode({"type": "dashboard", "dashboard": snapshot})


def staff_room_risk(event: dict[str, Any]) -> str:
    return encode(
        {
            "type": "room_risk",
            "room_id": event["room_id"],
            "seq": event.get("seq"),
            "sentiment": event.get("sentiment"),
            "risk": event.get("risk"),
            "shift": event.get("shift"),
            **({"emotions": event["emotions"]} if "emotions" in event else {}),
        }
    )


def staff_queue_update(rooms: list[dict[str, Any]]) -> str:
    return encode({"type": "queue_update", "rooms": rooms})


def staff_alert(alert: dict[str, Any], *, resent: bool = False) -> str:
    return encode({"type": "alert", "alert": alert, **({"resent": True} if resent else {})})


def staff_report(event: dict[str, Any]) -> str:
    """A participant reported a message: moderators joined to the room decide what to do."""
    return encode(
        {
            "type": "report",
            "room_id": event["room_id"],
            "seq": event.get("seq"),
            "reason": event.get("reason"),
            "reported_by": event.get("reported_by"),
            **({"report_id": event["report_id"]} if "report_id" in event else {}),
        }
    )
