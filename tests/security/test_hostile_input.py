"""Hostile input against a real server: random JSON, wrong types, huge and binary frames,
invalid UTF-8, deep nesting, unknown types, frames before auth and floods, over /ws and HTTP.

Every case fails alone: the sender gets a clear error (or a close code that names the fault),
nothing is stored, and afterwards a fresh connection still gets pong for its ping. Hypothesis
examples are bounded so that the file runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ws.frames import CLIENT_TYPES
from tests.security.helpers import still_serving
from tests.support.actors import Actor, participant, staff, waiting_room
from tests.support.server import RunningServer
from tests.support.storage import count_messages
from tests.support.wsclient import WsClient

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def fuzz(
    attack: Callable[..., Coroutine[Any, Any, None]],
    *,
    examples: int = 25,
    **strategies: st.SearchStrategy[Any],
) -> None:
    """Run an async attack under Hypothesis: the engine runs in a worker thread and hands each
    example to this event loop (where the server lives), so shrinking works as usual."""
    loop = asyncio.get_running_loop()

    @settings(FUZZ, max_examples=examples)
    @given(**strategies)
    def run(**example: Any) -> None:
        asyncio.run_coroutine_threadsafe(attack(**example), loop).result(timeout=60)

    await asyncio.to_thread(run)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
field_values = st.one_of(
    json_values, st.sampled_from(["", "x" * 65, "room_nope", "-1", "\x00", "\u202e"])
)


def known_type_frames(room_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Frames of every client type, with each field absent, of a wrong type, or aimed at a
    room the sender may not post in."""
    rooms = st.sampled_from(room_ids) | field_values
    return st.fixed_dictionaries(
        {"type": st.sampled_from(sorted(CLIENT_TYPES))},
        optional={
            "room_id": rooms,
            "client_msg_id": field_values,
            "body": field_values | st.text(max_size=300),
            "after_seq": st.integers() | field_values,
            "watch": field_values,
            "channel": st.sampled_from(["queue", "alerts", "everything"]) | field_values,
            "token": field_values,
        },
    )


@pytest.fixture
async def intruder(server: RunningServer, http: httpx.AsyncClient) -> tuple[Actor, str]:
    """A participant, and someone else's room that they must not be able to touch."""
    owner = await participant(server, http)
    return await participant(server, http), await waiting_room(owner)


async def _survives(server: RunningServer, token: str, raw: str | bytes, before: int) -> None:
    """Send one hostile frame on an authenticated socket; the socket answers errors (never
    `internal`) and stays open, nothing is stored, and a fresh connection still works."""
    client = await WsClient.connect(server.ws_url, token)
    await client.conn.send(raw)
    await client.send({"type": "ping"})
    await client.expect("pong", timeout=5)
    for frame in client.backlog:
        assert frame.get("code") != "internal", (raw, frame)
        if frame["type"] == "error":
            assert isinstance(frame["detail"], str) and frame["detail"]
    await client.close()
    assert await count_messages(server) == before
    fresh = await WsClient.connect(server.ws_url, token)
    await fresh.send({"type": "ping"})
    await fresh.expect("pong", timeout=5)
    await fresh.close()


async def test_random_json_frames(server: RunningServer, intruder: tuple[Actor, str]) -> None:
    person, _ = intruder
    before = await count_messages(server)

    async def attack(value: Any) -> None:
        await _survives(server, person.token, json.dumps(value), before)

    await fuzz(attack, value=json_values)


async def test_frames_of_known_types_with_wrong_fields(
    server: RunningServer, intruder: tuple[Actor, str]
) -> None:
    person, other_room = intruder
    before = await count_messages(server)

    async def attack(frame: dict[str, Any]) -> None:
        await _survives(server, person.token, json.dumps(frame), before)

    await fuzz(attack, examples=40, frame=known_type_frames([other_room]))


async def test_random_text_and_binary_frames(
    server: RunningServer, intruder: tuple[Actor, str]
) -> None:
    person, _ = intruder
    before = await count_messages(server)

    async def attack(raw: str | bytes) -> None:
        await _survives(server, person.token, raw, before)

    await fuzz(attack, raw=st.text(max_size=200) | st.binary(max_size=200))


async def test_deep_nesting_and_near_limit_frames(
    server: RunningServer, intruder: tuple[Actor, str]
) -> None:
    person, other_room = intruder
    before = await count_messages(server)
    deep = "[" * 30000 + "]" * 30000
    nested_body = json.dumps(
        {"type": "send", "room_id": other_room, "client_msg_id": "n", "body": "x"}
    ).replace('"x"', "[" * 3000 + "]" * 3000)
    big_body = json.dumps(
        {"type": "send", "room_id": other_room, "client_msg_id": "b", "body": "y" * 60000}
    )
    many_keys = json.dumps({"type": "ping", **{f"k{i}": i for i in range(3000)}})
    for raw in (deep, nested_body, big_body, many_keys, '{"type": "ping"}' * 3000):
        await _survives(server, person.token, raw, before)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("z" * 70000, 1009),  # over PEERCHAT_MAX_FRAME_BYTES
        (b"\xff\xfe\xfd invalid utf-8", 1007),  # sent as a *text* frame
        (b"\xc3\x28", 1007),
    ],
)
async def test_frames_that_close_the_socket(
    server: RunningServer, intruder: tuple[Actor, str], raw: str | bytes, code: int
) -> None:
    person, _ = intruder
    before = await count_messages(server)
    client = await WsClient.connect(server.ws_url, person.token)
    await client.conn.send(raw, text=True)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            frame = await client.recv()
            assert frame.get("code") != "internal"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    assert await count_messages(server) == before
    await still_serving(server)


async def test_anything_before_auth_closes_with_4401(server: RunningServer) -> None:
    before = await count_messages(server)

    async def attack(raw: str | bytes) -> None:
        client = await WsClient.connect(server.ws_url)
        await client.conn.send(raw)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = await client.recv()
                assert frame["type"] == "error" and frame["code"] == "unauthorized"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    await fuzz(
        attack,
        raw=st.builds(json.dumps, json_values)
        | st.builds(json.dumps, known_type_frames(["room_nope"]))
        | st.binary(max_size=64),
    )
    assert await count_messages(server) == before
    await still_serving(server)


async def test_a_frame_flood_is_refused_and_others_are_served(
    server: RunningServer, intruder: tuple[Actor, str]
) -> None:
    person, other_room = intruder
    before = await count_messages(server)
    flooder = await WsClient.connect(server.ws_url, person.token)
    junk = json.dumps({"type": "send", "room_id": other_room, "client_msg_id": "f", "body": "f"})
    for _ in range(300):
        await flooder.conn.send(junk)
    frames = await flooder.quiet(1.0)
    codes = {f.get("code") for f in frames}
    assert codes <= {"rate_limited", "forbidden"} and "rate_limited" in codes
    assert await count_messages(server) == before
    await still_serving(server)
    await flooder.close()


# HTTP bodies

ENDPOINTS = [
    ("participant", "/api/v1/sessions/anonymous"),
    ("participant", "/api/v1/support-requests"),
    ("participant", "/api/v1/rooms/{room}/block"),
    ("participant", "/api/v1/rooms/{room}/messages/1/report"),
    ("participant", "/api/v1/rooms/{room}/help"),
    ("anyone", "/api/v1/auth/login"),
    ("worker", "/api/v1/groups"),
    ("worker", "/api/v1/rooms/{room}/transfer"),
    ("worker", "/api/v1/rooms/{room}/close"),
    ("supervisor", "/api/v1/alerts/al_nope/resolve"),
]


def _assert_error_format(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert isinstance(body["error"]["code"], str) and body["error"]["code"]
        assert isinstance(body["error"]["detail"], str) and body["error"]["detail"]


async def test_random_http_bodies(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room = await waiting_room(await participant(server, http))
    worker = await staff(server, http, "peer_worker")
    supervisor = await staff(server, http, "supervisor")
    headers = {
        "participant": person.auth, "worker": worker.auth,
        "supervisor": supervisor.auth, "anyone": {},
    }  # fmt: skip
    before = await count_messages(server)

    async def attack(target: tuple[str, str], body: bytes, content_type: str) -> None:
        who, path = target
        response = await http.post(
            path.format(room=room),
            content=body,
            headers={**headers[who], "content-type": content_type},
        )
        _assert_error_format(response)

    await fuzz(
        attack,
        examples=60,
        target=st.sampled_from(ENDPOINTS),
        body=st.one_of(
            json_values.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=100),
            st.sampled_from([b"", b"\xff\xfe", b"{", b"[" * 20000, b'{"name": "\xff"}']),
        ),
        content_type=st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded"]
        ),
    )
    assert await count_messages(server) == before  # the only room touched was not theirs
    huge = await http.post(
        "/api/v1/support-requests", content=b"{" + b" " * 70000 + b"}", headers=person.auth
    )
    assert huge.status_code == 413
    _assert_error_format(huge)
    await still_serving(server)


async def test_nul_characters_are_bad_input(
    server: RunningServer, http: httpx.AsyncClient, intruder: tuple[Actor, str]
) -> None:
    """PostgreSQL text cannot hold NUL: found by schemathesis as a 500 on login; now 400."""
    person, other_room = intruder
    supervisor = await staff(server, http, "supervisor")
    for method, path, body, who in (
        ("POST", "/api/v1/auth/login", {"username": "a\u0000b", "password": "x" * 12}, {}),
        ("POST", "/api/v1/sessions/anonymous", {"topics": ["sl\u0000eep"]}, {}),
        ("POST", "/api/v1/support-requests", {"topic": "\u0000"}, person.auth),
        ("GET", "/api/v1/rooms/room%00x/messages", None, person.auth),
        ("GET", "/api/v1/rooms/x/messages?after_seq=0%00", None, person.auth),
        ("POST", "/api/v1/alerts/al%00/ack", None, supervisor.auth),
        (
            "POST",
            f"/api/v1/rooms/{other_room}/transfer",
            {"to_user_id": "u\u0000"},
            supervisor.auth,
        ),
    ):
        response = await http.request(method, path, json=body, headers=who)
        assert response.status_code == 400, (path, response.text)
        _assert_error_format(response)
    client = await WsClient.connect(server.ws_url, person.token)
    await client.send({"type": "join", "room_id": "room\u0000"})
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.send(
        {"type": "send", "room_id": other_room, "client_msg_id": "c\u0000", "body": "hi"}
    )
    assert (await client.expect("error"))["code"] == "bad_request"
    await client.close()
    await still_serving(server)
