"""Running a group: edit, pause, close, members, remove and mute, each refused clearly and audited."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.storage.models import AuditEntry
from tests.support.actors import Actor, error_code, participant, staff
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


async def _group(worker: Actor, name: str = "Evening check-in") -> str:
    created = await worker.post("/api/v1/groups", json={"name": name, "topic": "low-mood"})
    assert created.status_code == 201, created.text
    room_id: str = created.json()["room_id"]
    return room_id


async def _send_refusal(client: WsClient, room_id: str) -> dict[str, object]:
    cid = uuid.uuid4().hex
    await client.send({"type": "send", "room_id": room_id, "client_msg_id": cid, "body": "hi"})
    return await client.expect("error")


async def _audit(server: RunningServer, room_id: str) -> list[AuditEntry]:
    async with server.domain.db.read() as session:
        return list(
            (
                await session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.room_id == room_id, AuditEntry.action.like("group_%"))
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )


async def test_edit_pause_resume_and_close(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    room_id = await _group(worker)
    person = await participant(server, http)
    assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
    edited = await worker.http.patch(
        f"/api/v1/groups/{room_id}", headers=worker.auth, json={"name": "Sleep", "topic": "sleep"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json() == {
        "room_id": room_id, "name": "Sleep", "topic": "sleep", "status": "active", "paused": False,
    }  # fmt: skip

    p = await WsClient.connect(server.ws_url, person.token)
    await p.join(room_id)
    await p.say(room_id, "before the pause")
    paused = await worker.http.patch(
        f"/api/v1/groups/{room_id}", headers=worker.auth, json={"paused": True}
    )
    assert paused.status_code == 200 and paused.json()["paused"] is True
    notice = await p.expect("message", room_id=room_id)
    assert notice["sender"]["role"] == "system" and "paused" in notice["body"]
    refused = await _send_refusal(p, room_id)
    assert refused["code"] == "group_paused", refused
    newcomer = await participant(server, http)
    blocked = await newcomer.post(f"/api/v1/groups/{room_id}/join")
    assert blocked.status_code == 409 and error_code(blocked) == "group_paused"
    listed = (await newcomer.get("/api/v1/groups")).json()["groups"]
    assert next(g for g in listed if g["room_id"] == room_id)["paused"] is True
    # The moderator may still post in a paused group, to tell its members why.
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.join(room_id)
    await w.say(room_id, "Back in ten minutes.")

    resumed = await worker.http.patch(
        f"/api/v1/groups/{room_id}", headers=worker.auth, json={"paused": False}
    )
    assert resumed.json()["paused"] is False
    await p.say(room_id, "after the pause")
    assert (await newcomer.post(f"/api/v1/groups/{room_id}/join")).status_code == 200

    closed = await worker.post(f"/api/v1/groups/{room_id}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    await p.expect("room_closed", room_id=room_id)
    again = await worker.post(f"/api/v1/groups/{room_id}/close")
    assert again.status_code == 409 and error_code(again) == "conflict"
    listed = (await person.get("/api/v1/groups")).json()["groups"]
    assert room_id not in {g["room_id"] for g in listed}
    actions = [(e.action, e.actor_id) for e in await _audit(server, room_id)]
    assert actions == [
        ("group_created", worker.id),
        ("group_updated", worker.id),
        ("group_updated", worker.id),
        ("group_updated", worker.id),
        ("group_closed", worker.id),
    ]
    await p.close()
    await w.close()


async def test_members_remove_and_mute(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    supervisor = await staff(server, http, "supervisor")
    room_id = await _group(worker)
    alice, bob = await participant(server, http), await participant(server, http)
    for person in (alice, bob):
        assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
    listed = await supervisor.get(f"/api/v1/groups/{room_id}/members")
    assert listed.status_code == 200
    members = {m["member_id"]: m for m in listed.json()["members"]}
    assert (
        members[alice.id]["handle"] == alice.handle and members[alice.id]["role"] == "participant"
    )
    assert members[worker.id]["role"] == "moderator" and members[bob.id]["muted"] is False

    a = await WsClient.connect(server.ws_url, alice.token)
    await a.join(room_id)
    b = await WsClient.connect(server.ws_url, bob.token)
    await b.join(room_id)

    no_reason = await worker.post(f"/api/v1/groups/{room_id}/members/{bob.id}/mute", json={})
    assert no_reason.status_code == 400 and error_code(no_reason) == "bad_request"
    blank = await worker.post(
        f"/api/v1/groups/{room_id}/members/{bob.id}/mute", json={"reason": "   "}
    )
    assert blank.status_code == 400 and "reason" in blank.json()["error"]["detail"]
    muted = await worker.post(
        f"/api/v1/groups/{room_id}/members/{bob.id}/mute", json={"reason": "spamming links"}
    )
    assert muted.status_code == 200
    refused = await _send_refusal(b, room_id)
    assert refused["code"] == "muted" and "muted" in str(refused["detail"])
    await a.say(room_id, "bob still reads this")  # a muted member keeps reading
    assert (await b.expect("message", room_id=room_id))["body"] == "bob still reads this"
    members = {
        m["member_id"]: m
        for m in (await worker.get(f"/api/v1/groups/{room_id}/members")).json()["members"]
    }
    assert members[bob.id]["muted"] is True
    # Leaving and rejoining does not shed a mute.
    assert (await bob.post(f"/api/v1/groups/{room_id}/leave")).status_code == 200
    assert (await bob.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
    b2 = await WsClient.connect(server.ws_url, bob.token)
    await b2.join(room_id)
    assert (await _send_refusal(b2, room_id))["code"] == "muted"
    unmuted = await worker.post(f"/api/v1/groups/{room_id}/members/{bob.id}/unmute")
    assert unmuted.status_code == 200
    await b2.say(room_id, "thanks")

    removed = await supervisor.post(
        f"/api/v1/groups/{room_id}/members/{alice.id}/remove", json={"reason": "threats"}
    )
    assert removed.status_code == 200
    left = await a.expect("left", room_id=room_id)
    assert left["reason"] == "access_revoked"
    assert (await alice.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 403
    rejoin = await alice.post(f"/api/v1/groups/{room_id}/join")
    assert rejoin.status_code == 403 and error_code(rejoin) == "forbidden"
    members = (await worker.get(f"/api/v1/groups/{room_id}/members")).json()["members"]
    assert alice.id not in {m["member_id"] for m in members}
    twice = await supervisor.post(
        f"/api/v1/groups/{room_id}/members/{alice.id}/remove", json={"reason": "threats"}
    )
    assert twice.status_code == 404 and error_code(twice) == "not_found"
    staff_target = await worker.post(
        f"/api/v1/groups/{room_id}/members/{worker.id}/remove", json={"reason": "x"}
    )
    assert staff_target.status_code == 404  # only participants are removed or muted

    entries = [
        (e.action, e.target_id, e.detail.get("reason"))
        for e in await _audit(server, room_id)
        if e.action.startswith("group_member")
    ]
    assert entries == [
        ("group_member_muted", bob.id, "spamming links"),
        ("group_member_unmuted", bob.id, None),
        ("group_member_removed", alice.id, "threats"),
    ]
    for client in (a, b, b2):
        await client.close()


async def test_refusals(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    room_id = await _group(worker)
    person = await participant(server, http)
    await person.post(f"/api/v1/groups/{room_id}/join")
    for method, path, body in (
        ("PATCH", f"/api/v1/groups/{room_id}", {"paused": True}),
        ("POST", f"/api/v1/groups/{room_id}/close", None),
        ("GET", f"/api/v1/groups/{room_id}/members", None),
        ("POST", f"/api/v1/groups/{room_id}/members/{person.id}/remove", {"reason": "x"}),
        ("POST", f"/api/v1/groups/{room_id}/members/{person.id}/mute", {"reason": "x"}),
    ):
        response = await http.request(method, path, headers=person.auth, json=body)
        assert response.status_code == 403 and error_code(response) == "forbidden", path
    patch = worker.http.patch
    bodies: tuple[tuple[dict[str, Any], str], ...] = (
        ({}, "at least one"),
        ({"name": ""}, "name"),
        ({"name": None}, "null"),
        ({"paused": "yes"}, "paused"),
        ({"name": "x" * 121}, "name"),
    )
    for body, words in bodies:
        bad = await patch(f"/api/v1/groups/{room_id}", headers=worker.auth, json=body)
        assert bad.status_code == 400 and error_code(bad) == "bad_request", body
        assert words in bad.json()["error"]["detail"], (body, bad.json())
    missing = await patch("/api/v1/groups/room_nope", headers=worker.auth, json={"paused": True})
    assert missing.status_code == 404
    one_to_one = await participant(server, http)
    made = await one_to_one.post("/api/v1/support-requests", json={})
    other = made.json()["room_id"]
    assert (await worker.post(f"/api/v1/groups/{other}/close")).status_code == 404
    await worker.post(f"/api/v1/groups/{room_id}/close")
    late = await patch(f"/api/v1/groups/{room_id}", headers=worker.auth, json={"name": "again"})
    assert late.status_code == 409


async def test_staff_list_closed_groups_and_participants_cannot(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    name = f"Closed circle {uuid.uuid4().hex[:6]}"
    room_id = await _group(worker, name)
    still_open = await _group(worker, f"Open circle {uuid.uuid4().hex[:6]}")
    person = await participant(server, http)
    assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
    assert (await worker.post(f"/api/v1/groups/{room_id}/close")).status_code == 200

    closed = await worker.get("/api/v1/groups", params={"status": "closed"})
    assert closed.status_code == 200, closed.text
    listed = closed.json()["groups"]
    entry = dict(next(g for g in listed if g["room_id"] == room_id))
    closed_at = entry.pop("closed_at")
    assert isinstance(closed_at, str) and closed_at.endswith("Z")
    assert entry == {
        "room_id": room_id, "name": name, "topic": "low-mood", "members": 1, "paused": False,
        "status": "closed",
    }  # fmt: skip
    assert all(g["status"] == "closed" for g in listed)
    assert still_open not in {g["room_id"] for g in listed}
    # Newest closed first.
    stamps = [g["closed_at"] for g in listed]
    assert stamps == sorted(stamps, reverse=True)

    # The default listing is unchanged: open groups only, in the contract's shape.
    default = (await worker.get("/api/v1/groups")).json()["groups"]
    assert room_id not in {g["room_id"] for g in default}
    assert still_open in {g["room_id"] for g in default}
    assert all(set(g) == {"room_id", "name", "topic", "members", "paused"} for g in default)
    explicit = (await worker.get("/api/v1/groups", params={"status": "open"})).json()["groups"]
    assert {g["room_id"] for g in explicit} == {g["room_id"] for g in default}
    assert all(g["status"] == "active" and g["closed_at"] is None for g in explicit)

    supervisor = await staff(server, http, "supervisor")
    assert (await supervisor.get("/api/v1/groups?status=closed")).status_code == 200
    refused = await person.get("/api/v1/groups", params={"status": "closed"})
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    bad = await worker.get("/api/v1/groups", params={"status": "everything"})
    assert bad.status_code == 400 and error_code(bad) == "bad_request"
