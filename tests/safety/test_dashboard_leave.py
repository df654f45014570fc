"""The supervisors' dashboard, and participants ending their own conversations."""

from __future__ import annotations

import httpx

from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer


async def test_dashboard(server: RunningServer, http: httpx.AsyncClient) -> None:
    await waiting_room(await participant(server, http))
    person = await participant(server, http)
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    supervisor = await staff(server, http, "supervisor")
    response = await supervisor.get("/api/v1/dashboard")
    assert response.status_code == 200
    body = response.json()
    assert body["waiting"] >= 1 and body["longest_wait_seconds"] >= 0
    mine = [w for w in body["active_rooms_per_worker"] if w["user_id"] == worker.id]
    assert mine == [{"user_id": worker.id, "handle": worker.handle, "active_rooms": 1}]
    assert set(body["open_alerts"]) == {"crisis", "warning"}
    assert set(body["rooms_by_risk"]) == {"crisis", "elevated", "none"}
    for actor in (person, worker):
        refused = await actor.get("/api/v1/dashboard")
        assert refused.status_code == 403 and error_code(refused) == "forbidden"


async def test_participant_withdraws_and_leaves(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    withdrawn = await person.post(f"/api/v1/rooms/{room_id}/leave")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "closed"
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 409
    # an active conversation: the supporter sees a plain notice
    room_id = await waiting_room(person)
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    assert (await person.post(f"/api/v1/rooms/{room_id}/leave")).status_code == 200
    history = (await worker.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert history[-1]["body"] == f"{person.handle} has left the conversation."
    outsider = await participant(server, http)
    assert (await outsider.post(f"/api/v1/rooms/{room_id}/leave")).status_code == 403
    assert (await worker.post(f"/api/v1/rooms/{room_id}/leave")).status_code == 403
