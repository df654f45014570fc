"""Nobody is let in where they do not belong: bad tokens, other people's rooms (IDOR), another
worker's room, and cross-site WebSocket hijacking, over HTTP and over the socket."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
import websockets

from tests.security.helpers import group_with
from tests.support.actors import Actor, error_code, participant, staff, waiting_room
from tests.support.server import RunningServer
from tests.support.storage import count_messages
from tests.support.wsclient import WsClient


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(server: RunningServer, person: Actor) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": person.id,
        "role": "participant",
        "iss": "peerchat",
        "iat": now,
        "exp": now + 60,
    }
    key = server.domain.settings.signing_key
    header, payload, signature = person.token.split(".")
    return {
        "tampered payload": f"{header}.{_b64({**claims, 'role': 'supervisor'})}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[::-1]}",
        "expired": jwt.encode({**claims, "iat": now - 100, "exp": now - 10}, key, "HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "other key": jwt.encode(claims, "another key that is long enough to sign tokens", "HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "elsewhere"}, key, "HS256"),
        "unknown role": jwt.encode({**claims, "role": "root"}, key, "HS256"),
        "role not the account's": jwt.encode({**claims, "role": "supervisor"}, key, "HS256"),
        "no subject": jwt.encode({k: v for k, v in claims.items() if k != "sub"}, key, "HS256"),
        "just a dot": ".",
        "junk": "not.a.token",
    }


async def test_bad_tokens_are_refused_on_http_and_ws(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    for name, token in _bad_tokens(server, person).items():
        for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/alerts"),
                             ("GET", "/api/v1/queue"), ("DELETE", "/api/v1/me")):  # fmt: skip
            response = await http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (name, path, response.text)
            assert error_code(response) == "unauthorized"
        client = await WsClient.connect(server.ws_url)
        await client.send({"type": "auth", "token": token})
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = await client.recv()
                assert frame["type"] == "error" and frame["code"] == "unauthorized", (name, frame)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, name
    # The participant still exists: their real token works (the refusals changed nothing).
    assert (await person.get("/api/v1/me")).status_code == 200


async def test_wrong_roles_are_refused(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    worker = await staff(server, http, "peer_worker")
    room_id = await waiting_room(await participant(server, http))
    refusals = [
        (person, "GET", "/api/v1/queue", None),
        (person, "GET", "/api/v1/alerts", None),
        (person, "GET", "/api/v1/reports", None),
        (person, "POST", f"/api/v1/rooms/{room_id}/claim", None),
        (person, "POST", f"/api/v1/rooms/{room_id}/close", {}),
        (person, "POST", "/api/v1/groups", {"name": "mine"}),
        (worker, "GET", "/api/v1/alerts", None),
        (worker, "POST", "/api/v1/alerts/al_x/ack", None),
        (worker, "POST", "/api/v1/support-requests", {}),
        (worker, "DELETE", "/api/v1/me", None),
    ]
    for actor, method, path, body in refusals:
        response = await http.request(method, path, headers=actor.auth, json=body)
        assert response.status_code == 403, (actor.role, path, response.text)
        assert error_code(response) == "forbidden"
    c = await WsClient.connect(server.ws_url, person.token)
    for channel in ("queue", "alerts"):
        await c.send({"type": "subscribe", "channel": channel})
        assert (await c.expect("error"))["code"] == "forbidden"
    await c.close()
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.send({"type": "subscribe", "channel": "alerts"})
    assert (await w.expect("error"))["code"] == "forbidden"
    await w.close()


async def test_a_participant_cannot_reach_another_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    owner = await participant(server, http)
    room_id = await waiting_room(owner, note="only for the worker")
    intruder = await participant(server, http)
    for method, path, body in (
        ("GET", f"/api/v1/rooms/{room_id}", None),
        ("GET", f"/api/v1/rooms/{room_id}/messages", None),
        ("GET", f"/api/v1/rooms/{room_id}/messages?after_seq=0&limit=500", None),
        ("POST", f"/api/v1/rooms/{room_id}/help", None),
        ("POST", f"/api/v1/rooms/{room_id}/messages/1/report", {}),
        ("POST", f"/api/v1/rooms/{room_id}/block", {"participant_id": owner.id}),
    ):
        response = await http.request(method, path, headers=intruder.auth, json=body)
        assert response.status_code in (403, 404), (path, response.text)
        assert "only for the worker" not in response.text
    before = await count_messages(server, room_id)
    c = await WsClient.connect(server.ws_url, intruder.token)
    await c.send({"type": "join", "room_id": room_id, "after_seq": 0})
    assert (await c.expect("error", room_id=room_id))["code"] == "forbidden"
    await c.send({"type": "send", "room_id": room_id, "client_msg_id": "x1", "body": "let me in"})
    assert (await c.expect("error", room_id=room_id))["code"] == "forbidden"
    await c.send({"type": "typing", "room_id": room_id})
    assert (await c.expect("error", room_id=room_id))["code"] == "bad_request"
    await c.send({"type": "leave", "room_id": room_id})
    await c.expect("left", room_id=room_id)  # leaving a room one is not in changes nothing
    leaked = [f for f in await c.quiet(0.4) if f.get("type") in ("message", "presence", "typing")]
    assert not leaked
    assert await count_messages(server, room_id) == before
    await c.close()


async def test_a_leaver_cannot_post_or_read_a_group(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    group = await group_with(server, http, members=2)
    leaver, stayer = group.members
    assert (await leaver.post(f"/api/v1/groups/{group.room_id}/leave")).status_code == 200
    s = await WsClient.connect(server.ws_url, stayer.token)
    await s.join(group.room_id)
    await s.say(group.room_id, "after you left")
    reading = await leaver.get(f"/api/v1/rooms/{group.room_id}/messages")
    assert reading.status_code == 403
    c = await WsClient.connect(server.ws_url, leaver.token)
    await c.send({"type": "join", "room_id": group.room_id})
    assert (await c.expect("error"))["code"] == "forbidden"
    await c.send({"type": "send", "room_id": group.room_id, "client_msg_id": "z", "body": "hi"})
    assert (await c.expect("error"))["code"] == "forbidden"
    await c.close()
    await s.close()


async def test_a_worker_cannot_act_on_another_workers_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    owner = await staff(server, http, "peer_worker")
    other = await staff(server, http, "peer_worker")
    assert (await owner.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    for path, body in (
        (f"/api/v1/rooms/{room_id}/transfer", {"to_user_id": other.id}),
        (f"/api/v1/rooms/{room_id}/close", {"notes": "not mine"}),
    ):
        response = await other.post(path, json=body)
        assert response.status_code == 403 and error_code(response) == "forbidden", path
    claim = await other.post(f"/api/v1/rooms/{room_id}/claim")
    assert claim.status_code == 409
    assert (await other.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 403
    before = await count_messages(server, room_id)
    w = await WsClient.connect(server.ws_url, other.token)
    await w.send({"type": "join", "room_id": room_id})
    assert (await w.expect("error", room_id=room_id))["code"] == "forbidden"
    await w.send({"type": "send", "room_id": room_id, "client_msg_id": "w1", "body": "hello?"})
    assert (await w.expect("error", room_id=room_id))["code"] == "forbidden"
    assert await count_messages(server, room_id) == before
    summary = (await owner.get(f"/api/v1/rooms/{room_id}")).json()
    assert summary["status"] == "active" and summary["assigned_to"] == owner.id
    await w.close()


async def test_participants_see_no_staff_data(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    summary = (await person.get(f"/api/v1/rooms/{room_id}")).json()
    assert "risk" not in summary and "assigned_to" not in summary
    assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
    c = await WsClient.connect(server.ws_url, person.token)
    await c.join(room_id, after_seq=0)
    frames = await c.quiet(0.5)
    assert not [f for f in frames if f["type"] in ("alert", "room_risk", "queue_update", "report")]
    await c.close()


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "null", "http://127.0.0.1.evil.example", "http://localhost:1"],
)
async def test_cross_site_websocket_hijacking_is_refused(
    server: RunningServer, http: httpx.AsyncClient, origin: str
) -> None:
    person = await participant(server, http)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await WsClient.connect(server.ws_url, person.token, origin=origin)
    assert refused.value.response.status_code == 403
