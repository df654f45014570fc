"""Client frames parsed into the typed union: each bad field is answered with the words the
service has always used for it, and the union covers exactly the frame types `parse` accepts."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from app.ws import frames
from app.ws.client_frames import ClientFrame, JoinFrame, SendFrame, SubscribeFrame, typed


def test_the_union_covers_every_client_type() -> None:
    members = get_args(get_args(ClientFrame)[0])
    tags = {get_args(model.model_fields["type"].annotation)[0] for model in members}
    assert tags == frames.CLIENT_TYPES


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        ({"type": "join"}, "room_id must be a room id string"),
        ({"type": "join", "room_id": 5}, "room_id must be a room id string"),
        ({"type": "join", "room_id": "r" * 65}, "room_id must be a room id string"),
        ({"type": "join", "room_id": "room\x00"}, "room_id must be a room id string"),
        (
            {"type": "join", "room_id": "r", "after_seq": -1},
            "after_seq must be a whole number from 0 to 2^53",
        ),
        (
            {"type": "join", "room_id": "r", "after_seq": 2**53 + 1},
            "after_seq must be a whole number from 0 to 2^53",
        ),
        (
            {"type": "join", "room_id": "r", "after_seq": True},
            "after_seq must be a whole number from 0 to 2^53",
        ),
        (
            {"type": "join", "room_id": "r", "after_seq": "3"},
            "after_seq must be a whole number from 0 to 2^53",
        ),
        ({"type": "join", "room_id": "r", "watch": 1}, "watch must be true or false"),
        (
            {"type": "send", "room_id": "r", "body": "no id"},
            "client_msg_id must be a string of 1 to 64 characters",
        ),
        (
            {"type": "send", "room_id": "r", "client_msg_id": "c\x00", "body": "x"},
            "client_msg_id must be a string of 1 to 64 characters",
        ),
        (
            {"type": "send", "room_id": "r", "client_msg_id": "a", "body": 12},
            "body must be a string",
        ),
        # The first wrong field is named, in the order a reader checks them.
        (
            {"type": "send", "room_id": 1, "client_msg_id": 2, "body": 3},
            "room_id must be a room id string",
        ),
        ({"type": "subscribe", "channel": "everything"}, "channel must be 'queue' or 'alerts'"),
        ({"type": "subscribe"}, "channel must be 'queue' or 'alerts'"),
        ({"type": "typing", "room_id": None}, "room_id must be a room id string"),
        ({"type": "leave"}, "room_id must be a room id string"),
    ],
)
def test_bad_fields_are_bad_requests_in_the_old_words(frame: dict[str, Any], detail: str) -> None:
    with pytest.raises(frames.FrameError) as caught:
        typed(frame)
    assert (caught.value.code, caught.value.detail) == ("bad_request", detail)


def test_good_frames_become_their_models() -> None:
    join = typed({"type": "join", "room_id": "r1", "after_seq": 7, "watch": True, "extra": 1})
    assert join == JoinFrame(type="join", room_id="r1", after_seq=7, watch=True)
    # An explicit null reads as absent, as before.
    assert typed({"type": "join", "room_id": "r1", "after_seq": None}) == JoinFrame(
        type="join", room_id="r1"
    )
    send = typed({"type": "send", "room_id": "r1", "client_msg_id": "c1", "body": " hi "})
    assert isinstance(send, SendFrame) and send.body == " hi "  # the domain cleans the body
    assert typed({"type": "subscribe", "channel": "alerts"}) == SubscribeFrame(
        type="subscribe", channel="alerts"
    )
