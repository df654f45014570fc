"""Client-to-server frames as types: one Pydantic model per `type`, joined in a union that the
`type` field discriminates. Handlers receive a checked frame and never look into a raw dict.

A frame that does not fit its model is answered as before: an `error` frame with the code
`bad_request` and the words the service has always used for that field, so clients that show
`detail` see no change. What depends on settings or storage (a body's length, who may do what)
is still judged by the domain, which says so in its own words.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from app.chat.messages import MAX_CLIENT_MSG_ID
from app.ws.frames import FrameError

MAX_SEQ = 2**53


class _Frame(BaseModel):
    # Strict: a number where a string belongs is an error, not a guess. Unknown keys are ignored
    # (clients may send more than a frame needs, e.g. a newer client's optional fields).
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL: refused here as bad input, not failed there."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    return value


RoomId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)]


class AuthFrame(_Frame):
    type: Literal["auth"]
    token: str | None = None


class JoinFrame(_Frame):
    type: Literal["join"]
    room_id: RoomId
    after_seq: Annotated[int, Field(ge=0, le=MAX_SEQ)] | None = None
    watch: bool | None = None
    """A supervisor joining silently (True) or as a moderator (False)."""


class SendFrame(_Frame):
    type: Literal["send"]
    room_id: RoomId
    client_msg_id: Annotated[
        str, Field(min_length=1, max_length=MAX_CLIENT_MSG_ID), AfterValidator(_no_nul)
    ]
    body: str


class NoteFrame(_Frame):
    """A staff note on a room (never shown to participants)."""

    type: Literal["note"]
    room_id: RoomId
    client_msg_id: Annotated[
        str, Field(min_length=1, max_length=MAX_CLIENT_MSG_ID), AfterValidator(_no_nul)
    ]
    body: str


class TypingFrame(_Frame):
    type: Literal["typing"]
    room_id: RoomId


class LeaveFrame(_Frame):
    type: Literal["leave"]
    room_id: RoomId


class SubscribeFrame(_Frame):
    type: Literal["subscribe"]
    channel: Literal["queue", "alerts"]


class PingFrame(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[
    AuthFrame
    | JoinFrame
    | SendFrame
    | NoteFrame
    | TypingFrame
    | LeaveFrame
    | SubscribeFrame
    | PingFrame,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)

# The words for a field that does not fit, as the service has always said them.
_FIELD_DETAIL = {
    "room_id": "room_id must be a room id string",
    "after_seq": "after_seq must be a whole number from 0 to 2^53",
    "watch": "watch must be true or false",
    "client_msg_id": f"client_msg_id must be a string of 1 to {MAX_CLIENT_MSG_ID} characters",
    "body": "body must be a string",
    "channel": "channel must be 'queue' or 'alerts'",
    "token": "token must be a string",
}


def typed(frame: dict[str, Any]) -> ClientFrame:
    """The checked frame, or FrameError(bad_request) naming the first field that is wrong.

    `frame` has passed `frames.parse` (a JSON object with a known string `type`)."""
    try:
        return _ADAPTER.validate_python(frame)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [part for part in first["loc"] if isinstance(part, str)]
        # loc is (type tag, field, ...) for a discriminated union.
        field = loc[1] if len(loc) > 1 else ""
        raise FrameError(
            "bad_request", _FIELD_DETAIL.get(field, f"{field or 'frame'}: {first['msg']}")
        ) from None
