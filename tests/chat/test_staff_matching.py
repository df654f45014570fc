"""Peer workers' profiles, the staff list, and matching rooms offered first."""

from __future__ import annotations

import httpx

from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer


async def test_profile_round_trip(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    updated = await http.put(
        "/api/v1/me/profile",
        headers=worker.auth,
        json={"topics": ["Grief", "sleep"], "languages": ["pt-BR"], "experience_tags": ["grief"]},
    )
    assert updated.status_code == 200
    body = updated.json()
    assert body["topics"] == ["grief", "sleep"] and body["languages"] == ["pt-br"]
    assert body["active_rooms"] == 0
    assert (await worker.get("/api/v1/me/profile")).json() == body
    bad = await http.put("/api/v1/me/profile", headers=worker.auth, json={"topics": "grief"})
    assert bad.status_code == 400 and error_code(bad) == "bad_request"
    person = await participant(server, http)
    refused = await person.get("/api/v1/me/profile")
    assert refused.status_code == 403


async def test_staff_list_for_handing_over(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    listed = (await worker.get("/api/v1/staff", params={"role": "peer_worker"})).json()["staff"]
    assert worker.id in [s["user_id"] for s in listed]
    assert all(s["role"] == "peer_worker" for s in listed)
    assert "password_hash" not in listed[0] and "username" not in listed[0]
    person = await participant(server, http)
    assert (await person.get("/api/v1/staff")).status_code == 403
    assert (await worker.get("/api/v1/staff", params={"role": "wizard"})).status_code == 400


async def test_matching_rooms_are_offered_first_and_say_why(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    plain = await waiting_room(await participant(server, http))
    speaker = await participant(server, http, language="pt", topics=["grief"])
    matching = await waiting_room(speaker, topic="grief")
    worker = await staff(server, http, "peer_worker", topics=["grief"], languages=["pt"])
    rooms = (await worker.get("/api/v1/queue")).json()["rooms"]
    order = [r["room_id"] for r in rooms if r["room_id"] in (plain, matching)]
    assert order == [matching, plain]  # matching first although it waited less
    entry = next(r for r in rooms if r["room_id"] == matching)
    assert entry["match"]["score"] > 0
    assert "speaks pt" in entry["match"]["reasons"] and "topic: grief" in entry["match"]["reasons"]
    other = await staff(server, http, "peer_worker")
    theirs = [
        r["room_id"]
        for r in (await other.get("/api/v1/queue")).json()["rooms"]
        if r["room_id"] in (plain, matching)
    ]
    assert theirs == [plain, matching]  # no profile: longest waiting first
