"""The /ws protocol of the contract, with real clients against a real server on each database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from app.storage.models import Message
from tests.support.actors import claimed_room, participant, staff, waiting_room
from tests.support.server import RunningServer, node_settings, serve
from tests.support.wsclient import WsClient


async def _count(server: RunningServer, room_id: str) -> int:
    async with server.domain.db.read() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).select_from(Message).where(Message.room_id == room_id)
                )
            ).scalar_one()
        )


async def test_auth_then_ready(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    client = await WsClient.connect(server.ws_url)
    await client.send({"type": "auth", "token": person.token})
    ready = await client.expect("ready")
    assert ready["user"] == {"id": person.id, "role": "participant", "handle": person.handle}
    await client.send({"type": "ping"})
    assert (await client.expect("pong")) == {"type": "pong"}
    await client.close()


@pytest.mark.parametrize("first", [{"type": "auth", "token": "nope"}, {"type": "ping"}, "junk"])
async def test_bad_auth_closes_4401(server: RunningServer, first: Any) -> None:
    client = await WsClient.connect(server.ws_url)
    await client.conn.send(first if isinstance(first, str) else json.dumps(first))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_auth_must_come_in_time(database_url: str) -> None:
    async with serve(node_settings(database_url, auth_timeout_seconds=0.5)) as node:
        client = await WsClient.connect(node.ws_url)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await client.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_send_ack_and_delivery(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    w = await WsClient.connect(server.ws_url, worker.token)
    joined = await p.join(room_id)
    await w.join(room_id)
    assert joined["last_seq"] >= 1  # the "has joined" notice
    ack = await p.say(room_id, "hello, thanks for being here", "c-1")
    assert set(ack) >= {"type", "room_id", "client_msg_id", "seq", "message_id"}
    assert ack["seq"] == joined["last_seq"] + 1
    got = await w.expect("message", room_id=room_id)
    assert got["seq"] == ack["seq"] and got["message_id"] == ack["message_id"]
    assert got["body"] == "hello, thanks for being here"
    assert got["sender"] == {"id": person.id, "handle": person.handle, "role": "participant"}
    assert got["client_msg_id"] == "c-1"
    # the sender gets an ack, not its own message back
    assert not [f for f in await p.quiet() if f["type"] == "message"]
    # a resend returns the same ack and stores nothing new
    stored = await _count(server, room_id)
    again = await p.say(room_id, "hello, thanks for being here", "c-1")
    assert (again["seq"], again["message_id"]) == (ack["seq"], ack["message_id"])
    assert await _count(server, room_id) == stored
    assert not [f for f in await w.quiet() if f["type"] == "message"]
    await p.close()
    await w.close()


async def test_resume_with_after_seq_gets_exactly_what_was_missed(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person, worker, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    w = await WsClient.connect(server.ws_url, worker.token)
    await p.join(room_id)
    joined = await w.join(room_id)
    first = await p.say(room_id, "one")
    await w.expect("message", seq=first["seq"])
    last_seen = first["seq"]
    await w.close()
    missed = [await p.say(room_id, f"missed {i}") for i in range(5)]
    w2 = await WsClient.connect(server.ws_url, worker.token)
    rejoined = await w2.join(room_id, after_seq=last_seen)
    assert rejoined["last_seq"] == missed[-1]["seq"]
    replay = await w2.messages(room_id, 5)
    assert [m["seq"] for m in replay] == [a["seq"] for a in missed]
    assert [m["body"] for m in replay] == [f"missed {i}" for i in range(5)]
    # then live delivery continues in order, with nothing repeated
    live = await p.say(room_id, "live again")
    nxt = await w2.expect("message", room_id=room_id)
    assert nxt["seq"] == live["seq"]
    assert not [f for f in await w2.quiet() if f["type"] == "message"]
    assert joined["last_seq"] < rejoined["last_seq"]
    for c in (p, w2):
        await c.close()


async def test_typing_presence_and_leave(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    await p.join(room_id)
    first = await p.expect("presence", room_id=room_id)
    assert person.handle in first["online"]
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.join(room_id)
    both = await p.expect("presence", room_id=room_id)
    assert sorted(both["online"]) == sorted([person.handle, worker.handle])
    await w.send({"type": "typing", "room_id": room_id})
    typing = await p.expect("typing", room_id=room_id)
    assert typing["handle"] == worker.handle
    assert not [f for f in await w.quiet() if f["type"] == "typing"]
    await w.send({"type": "leave", "room_id": room_id})
    await w.expect("left", room_id=room_id)
    after_leave = await p.expect("presence", room_id=room_id)
    assert after_leave["online"] == [person.handle]
    await p.say(room_id, "are you there?")
    assert not [f for f in await w.quiet() if f["type"] == "message"]
    await p.close()
    await w.close()


async def test_a_supervisor_can_watch_silently(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person, _, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    await p.join(room_id)
    await p.expect("presence", room_id=room_id)
    sup = await staff(server, http, "supervisor")
    s = await WsClient.connect(server.ws_url, sup.token)
    await s.join(room_id)
    # no presence change and no notice for the participant
    assert [f for f in await p.quiet(0.4) if f["type"] in ("presence", "message")] == []
    ack = await p.say(room_id, "just me here")
    assert (await s.expect("message", room_id=room_id))["seq"] == ack["seq"]
    await s.send({"type": "send", "room_id": room_id, "client_msg_id": "x", "body": "hi"})
    refused = await s.expect("error")
    assert refused["code"] == "forbidden"
    await p.close()
    await s.close()


async def test_members_only(server: RunningServer, http: httpx.AsyncClient) -> None:
    _, _, room_id = await claimed_room(server, http)
    outsider = await participant(server, http)
    c = await WsClient.connect(server.ws_url, outsider.token)
    await c.send({"type": "join", "room_id": room_id})
    error = await c.expect("error")
    assert error["code"] == "forbidden" and error["room_id"] == room_id
    await c.send({"type": "send", "room_id": room_id, "client_msg_id": "a", "body": "let me in"})
    assert (await c.expect("error"))["code"] == "forbidden"
    await c.send({"type": "join", "room_id": "room_missing"})
    assert (await c.expect("error"))["code"] == "not_found"
    await c.close()


async def test_bad_frames_get_errors_and_the_socket_stays(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person, _, room_id = await claimed_room(server, http)
    c = await WsClient.connect(server.ws_url, person.token)
    bad_frames: list[str | bytes] = [
        "not json",
        "[1,2]",
        "42",
        '{"no": "type"}',
        '{"type": 7}',
        '{"type": "teleport"}',
        '{"type": "join"}',
        '{"type": "join", "room_id": 5}',
        '{"type": "join", "room_id": "r", "after_seq": -1}',
        '{"type": "send", "room_id": "' + room_id + '", "body": "no id"}',
        '{"type": "send", "room_id": "' + room_id + '", "client_msg_id": "a", "body": 12}',
        '{"type": "subscribe", "channel": "everything"}',
        b"\x00\x01binary",
    ]
    for raw in bad_frames:
        await c.conn.send(raw)
        error = await c.expect("error")
        assert error["code"] == "bad_request", (raw, error)
    await c.send({"type": "ping"})
    await c.expect("pong")
    await c.close()


async def test_body_limits(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.join(room_id)
    stored = await _count(server, room_id)
    await p.send({"type": "send", "room_id": room_id, "client_msg_id": "big", "body": "x" * 4001})
    error = await p.expect("error")
    assert error["code"] == "too_large" and error["client_msg_id"] == "big"
    await p.send(
        {"type": "send", "room_id": room_id, "client_msg_id": "blank", "body": " \x00\x07 "}
    )
    assert (await p.expect("error"))["code"] == "bad_request"
    assert await _count(server, room_id) == stored
    ack = await p.say(room_id, "hi\x00 there\x1b\u202e!")
    got = await w.expect("message", seq=ack["seq"])
    assert got["body"] == "hi there!"
    await p.close()
    await w.close()


async def test_rate_limit_stores_nothing(database_url: str) -> None:
    settings = node_settings(database_url, messages_per_second=1.0, message_burst=5)
    async with serve(settings) as node, node.client() as http:
        person, _, room_id = await claimed_room(node, http)
        p = await WsClient.connect(node.ws_url, person.token)
        stored = await _count(node, room_id)
        for i in range(8):
            await p.send(
                {"type": "send", "room_id": room_id, "client_msg_id": f"r{i}", "body": f"flood {i}"}
            )
        frames = [await p.recv() for _ in range(8)]
        acks = [f for f in frames if f["type"] == "ack"]
        limited = [f for f in frames if f["type"] == "error"]
        assert len(acks) == 5 and len(limited) == 3
        assert all(f["code"] == "rate_limited" for f in limited)
        assert await _count(node, room_id) == stored + 5
        await p.close()


async def test_origin_check(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await WsClient.connect(server.ws_url, person.token, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    own = server.base_url
    ok = await WsClient.connect(server.ws_url, person.token, origin=own)
    await ok.close()


async def test_allowed_origins_setting(database_url: str) -> None:
    settings = node_settings(database_url, allowed_origins="https://app.example, https://m.example")
    async with serve(settings) as node, node.client() as http:
        person = await participant(node, http)
        ok = await WsClient.connect(node.ws_url, person.token, origin="https://m.example")
        await ok.close()
        with pytest.raises(websockets.InvalidStatus):
            await WsClient.connect(node.ws_url, person.token, origin="https://other.example")


async def test_concurrent_senders_get_gapless_seqs(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    group = (await worker.post("/api/v1/groups", json={"name": "busy room"})).json()["room_id"]
    people = [await participant(server, http) for _ in range(8)]
    clients = []
    for person in people:
        assert (await person.post(f"/api/v1/groups/{group}/join")).status_code == 200
        client = await WsClient.connect(server.ws_url, person.token)
        await client.join(group)
        clients.append(client)
    listener = await WsClient.connect(server.ws_url, worker.token)
    base = (await listener.join(group))["last_seq"]
    per_client = 5

    async def burst(client: WsClient, who: int) -> list[int]:
        acks = []
        for i in range(per_client):
            acks.append((await client.say(group, f"{who}:{i}"))["seq"])
        return acks

    acked = await asyncio.gather(*(burst(c, n) for n, c in enumerate(clients)))
    total = per_client * len(clients)
    seqs = sorted(s for client_seqs in acked for s in client_seqs)
    assert seqs == list(range(base + 1, base + total + 1))
    received = await listener.messages(group, total)
    assert [m["seq"] for m in received] == seqs  # in order, none missing, none twice
    for n, client in enumerate(clients):
        others = total - per_client
        got = await client.messages(group, others)
        assert [m["seq"] for m in got] == sorted(
            s for i, a in enumerate(acked) if i != n for s in a
        )
        await client.close()
    await listener.close()


async def test_staff_subscriptions(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    c = await WsClient.connect(server.ws_url, person.token)
    for channel in ("queue", "alerts"):
        await c.send({"type": "subscribe", "channel": channel})
        assert (await c.expect("error"))["code"] == "forbidden"
    worker = await staff(server, http, "peer_worker")
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.send({"type": "subscribe", "channel": "alerts"})
    assert (await w.expect("error"))["code"] == "forbidden"
    await w.send({"type": "subscribe", "channel": "queue"})
    first = await w.expect("queue_update")
    assert isinstance(first["rooms"], list)
    room_id = await waiting_room(person)
    update = await w.expect("queue_update", timeout=5)
    while room_id not in [r["room_id"] for r in update["rooms"]]:
        update = await w.expect("queue_update", timeout=5)
    # supervisors get every open alert when they subscribe, then live ones
    assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
    sup = await staff(server, http, "supervisor")
    s = await WsClient.connect(server.ws_url, sup.token)
    await s.send({"type": "subscribe", "channel": "alerts"})
    alert = await s.expect("alert")
    while alert["alert"]["room_id"] != room_id:
        alert = await s.expect("alert")
    assert alert["alert"]["severity"] == "crisis"
    await sup.post(f"/api/v1/alerts/{alert['alert']['alert_id']}/ack")
    live = await s.expect("alert")
    while live["alert"]["alert_id"] != alert["alert"]["alert_id"]:
        live = await s.expect("alert")
    assert live["alert"]["status"] == "acknowledged"
    for client in (c, w, s):
        await client.close()


async def test_shutdown_closes_with_1001(database_url: str) -> None:
    async with serve(node_settings(database_url)) as node, node.client() as http:
        person = await participant(node, http)
        client = await WsClient.connect(node.ws_url, person.token)
        node.server.should_exit = True
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await client.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_a_handed_over_room_stops_reaching_the_previous_worker(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person, worker, room_id = await claimed_room(server, http)
    colleague = await staff(server, http, "peer_worker")
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.join(room_id)
    moved = await worker.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": colleague.id}
    )
    assert moved.status_code == 200
    left = await w.expect("left", room_id=room_id)
    assert left["reason"] == "access_revoked"
    p = await WsClient.connect(server.ws_url, person.token)
    await p.say(room_id, "is anyone still there?")
    later = [f for f in await w.quiet(0.5) if f["type"] == "message"]
    assert [f["body"] for f in later if f["sender"]["role"] != "system"] == []
    await w.send({"type": "join", "room_id": room_id})
    assert (await w.expect("error"))["code"] == "forbidden"
    await w.close()
    await p.close()
