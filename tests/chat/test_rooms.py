"""Support requests, the queue, claim, transfer, close and message history."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, update

from app.chat import messages
from app.core.enums import Role
from app.core.identity import Principal
from app.storage.models import AuditEntry, Room
from tests.support.actors import claimed_room, error_code, participant, staff, waiting_room
from tests.support.server import RunningServer


async def test_support_request_opens_a_waiting_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    response = await person.post("/api/v1/support-requests", json={"topic": "anxiety"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "waiting" and body["room_id"]
    again = await person.post("/api/v1/support-requests", json={})
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert again.json()["error"]["room_id"] == body["room_id"]


async def test_support_request_note_is_the_first_message(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person, note="I can't sleep and I keep worrying")
    history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert [m["body"] for m in history] == ["I can't sleep and I keep worrying"]
    assert history[0]["seq"] == 1 and history[0]["sender"]["id"] == person.id


async def test_only_participants_ask_for_support(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    response = await worker.post("/api/v1/support-requests", json={})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    anonymous = await http.post("/api/v1/support-requests", json={})
    assert anonymous.status_code == 401 and error_code(anonymous) == "unauthorized"


async def test_support_request_refuses_bad_input(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    for body in ({"topic": 3}, {"note": ["x"]}, {"note": "x" * 5000}):
        response = await person.post("/api/v1/support-requests", json=body)
        assert response.status_code == 400, body
        assert error_code(response) == "bad_request"


async def _set_risk(server: RunningServer, room_id: str, level: str) -> None:
    async with server.domain.db.write() as session:
        await session.execute(update(Room).where(Room.id == room_id).values(risk_level=level))


async def test_queue_is_most_urgent_first(server: RunningServer, http: httpx.AsyncClient) -> None:
    supervisor = await staff(server, http, "supervisor")
    rooms = []
    for _ in range(4):
        rooms.append(await waiting_room(await participant(server, http)))
    await _set_risk(server, rooms[3], "crisis")
    await _set_risk(server, rooms[2], "elevated")
    response = await supervisor.get("/api/v1/queue")
    assert response.status_code == 200
    entries = response.json()["rooms"]
    ours = [e["room_id"] for e in entries if e["room_id"] in rooms]
    # crisis, elevated, then the longest waiting first
    assert ours == [rooms[3], rooms[2], rooms[0], rooms[1]]
    entry = next(e for e in entries if e["room_id"] == rooms[3])
    assert {
        "room_id",
        "kind",
        "status",
        "topic",
        "waiting_since",
        "assigned_to",
        "risk",
        "sentiment",
    } <= set(entry)
    assert entry["risk"]["level"] == "crisis" and set(entry["sentiment"]) == {"last", "trend"}
    for room_id in rooms:  # keep the shared queue calm for later tests
        await _set_risk(server, room_id, "none")


async def test_participants_cannot_see_the_queue(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    response = await person.get("/api/v1/queue")
    assert response.status_code == 403 and error_code(response) == "forbidden"


async def test_claim_makes_the_room_active(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    response = await worker.post(f"/api/v1/rooms/{room_id}/claim")
    assert response.status_code == 200
    assert response.json() == {"room_id": room_id, "status": "active", "assigned_to": worker.id}
    other = await staff(server, http, "peer_worker")
    again = await other.post(f"/api/v1/rooms/{room_id}/claim")
    assert again.status_code == 409 and error_code(again) == "conflict"
    history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert history[-1]["sender"]["role"] == "system"
    assert worker.handle in history[-1]["body"]


async def test_who_may_claim(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    supervisor = await staff(server, http, "supervisor")
    for actor in (person, supervisor):
        response = await actor.post(f"/api/v1/rooms/{room_id}/claim")
        assert response.status_code == 403 and error_code(response) == "forbidden"
    worker = await staff(server, http, "peer_worker")
    missing = await worker.post("/api/v1/rooms/room_does_not_exist/claim")
    assert missing.status_code == 404 and error_code(missing) == "not_found"


async def test_concurrent_claims_have_one_winner(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    room_id = await waiting_room(await participant(server, http))
    workers = [await staff(server, http, "peer_worker") for _ in range(6)]
    responses = await asyncio.gather(*(w.post(f"/api/v1/rooms/{room_id}/claim") for w in workers))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409, 409, 409]


async def test_worker_cap_is_enforced(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    cap = server.domain.settings.worker_max_rooms
    rooms = [await waiting_room(await participant(server, http)) for _ in range(cap + 1)]
    results = await asyncio.gather(*(worker.post(f"/api/v1/rooms/{r}/claim") for r in rooms))
    assert sorted(r.status_code for r in results) == [200] * cap + [409]
    refused = next(r for r in results if r.status_code == 409)
    assert "Close or hand over one first." in refused.json()["error"]["detail"]
    assert refused.json()["error"]["reason"] == "at_capacity"
    assert refused.json()["error"]["max_rooms"] == cap


async def test_transfer_hands_over(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    colleague = await staff(server, http, "peer_worker")
    response = await worker.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": colleague.id}
    )
    assert response.status_code == 200
    assert response.json()["assigned_to"] == colleague.id
    # the previous worker no longer manages it; the new one does
    refused = await worker.post(f"/api/v1/rooms/{room_id}/close", json={})
    assert refused.status_code == 403
    history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert "handed over" in history[-1]["body"] and colleague.handle in history[-1]["body"]


async def test_transfer_refusals(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    stranger = await staff(server, http, "peer_worker")
    supervisor = await staff(server, http, "supervisor")
    not_theirs = await stranger.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": stranger.id}
    )
    assert not_theirs.status_code == 403
    by_participant = await person.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": stranger.id}
    )
    assert by_participant.status_code == 403
    to_supervisor = await worker.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": supervisor.id}
    )
    assert to_supervisor.status_code == 400
    for body in ({}, {"to_user_id": 7}, {"to_user_id": ""}):
        bad = await worker.post(f"/api/v1/rooms/{room_id}/transfer", json=body)
        assert bad.status_code == 400 and error_code(bad) == "bad_request", body
    # a supervisor may transfer any room
    by_supervisor = await supervisor.post(
        f"/api/v1/rooms/{room_id}/transfer", json={"to_user_id": stranger.id}
    )
    assert by_supervisor.status_code == 200


async def test_close_with_notes(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, worker, room_id = await claimed_room(server, http)
    by_participant = await person.post(f"/api/v1/rooms/{room_id}/close", json={})
    assert by_participant.status_code == 403
    response = await worker.post(
        f"/api/v1/rooms/{room_id}/close", json={"notes": "talked it through"}
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"
    async with server.domain.db.read() as session:
        room = await session.get(Room, room_id)
    assert room is not None and room.close_notes == "talked it through"
    again = await worker.post(f"/api/v1/rooms/{room_id}/close")
    assert again.status_code == 409
    # the participant keeps their transcript, and may ask for support again
    history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert history[-1]["sender"]["role"] == "system"
    assert (await person.post("/api/v1/support-requests", json={})).status_code == 201


async def test_history_is_for_members(server: RunningServer, http: httpx.AsyncClient) -> None:
    person, _worker, room_id = await claimed_room(server, http)
    for i in range(5):
        await messages.post(
            server.domain,
            sender=Principal(person.id, Role.PARTICIPANT, person.handle),
            room_id=room_id,
            client_msg_id=f"c{i}",
            body=f"message {i}",
        )
    page = await person.get(
        f"/api/v1/rooms/{room_id}/messages", params={"after_seq": 2, "limit": 2}
    )
    assert page.status_code == 200
    found = page.json()["messages"]
    assert [m["seq"] for m in found] == [3, 4]
    assert set(found[0]) == {
        "room_id",
        "seq",
        "message_id",
        "client_msg_id",
        "sender",
        "body",
        "sent_at",
    }
    assert set(found[0]["sender"]) == {"id", "handle", "role"}
    outsider = await participant(server, http)
    refused = await outsider.get(f"/api/v1/rooms/{room_id}/messages")
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    other_worker = await staff(server, http, "peer_worker")
    assert (await other_worker.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 403
    for params in ({"after_seq": -1}, {"limit": 0}, {"limit": 100000}, {"after_seq": "x"}):
        bad = await person.get(f"/api/v1/rooms/{room_id}/messages", params=params)
        assert bad.status_code == 400 and error_code(bad) == "bad_request", params
    missing = await person.get("/api/v1/rooms/room_nope/messages")
    assert missing.status_code == 404


async def test_staff_reads_are_audited(server: RunningServer, http: httpx.AsyncClient) -> None:
    _, _, room_id = await claimed_room(server, http)
    supervisor = await staff(server, http, "supervisor")
    assert (await supervisor.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 200
    async with server.domain.db.read() as session:
        entries = (
            (
                await session.execute(
                    select(AuditEntry).where(
                        AuditEntry.room_id == room_id, AuditEntry.actor_id == supervisor.id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [e.action for e in entries] == ["transcript_read"]


async def test_seq_is_gapless_under_concurrent_senders(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    supervisor = await staff(server, http, "supervisor")
    group = (await supervisor.post("/api/v1/groups", json={"name": "evening circle"})).json()[
        "room_id"
    ]
    people = [await participant(server, http) for _ in range(5)]
    for p in people:
        assert (await p.post(f"/api/v1/groups/{group}/join")).status_code == 200

    async def send(p: Any, i: int) -> messages.Posted:
        return await messages.post(
            server.domain,
            sender=Principal(p.id, Role.PARTICIPANT, p.handle),
            room_id=group,
            client_msg_id=f"m{i}",
            body=f"hello {i}",
        )

    results = await asyncio.gather(*(send(p, i) for p in people for i in range(10)))
    # resending the same client_msg_ids stores nothing new and returns the original seqs
    resent = await asyncio.gather(*(send(p, i) for p in people for i in range(3)))
    seqs = sorted(r.message["seq"] for r in results)
    assert seqs == list(range(1, 51))
    assert all(r.duplicate for r in resent)
    originals = {
        (r.message["sender"]["id"], r.message["client_msg_id"]): r.message["seq"] for r in results
    }
    assert all(
        originals[(r.message["sender"]["id"], r.message["client_msg_id"])] == r.message["seq"]
        for r in resent
    )
    history = (await people[0].get(f"/api/v1/rooms/{group}/messages", params={"limit": 500})).json()
    assert [m["seq"] for m in history["messages"]] == list(range(1, 51))
