"""Check-ins: optional, one per phase (a second replaces the first), only on one's own
one-to-one conversation; and who may read a conversation's outcome."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.storage.models import CheckIn
from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer


async def test_scale_is_one_public_source(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/checkins/scale")
    assert response.status_code == 200
    body = response.json()
    assert [(s["mood"], s["label"], s["emoji"]) for s in body["scale"]] == [
        (1, "Very low", "😞"), (2, "Low", "🙁"), (3, "Okay", "😐"), (4, "Good", "🙂"),
        (5, "Very good", "😄"),
    ]  # fmt: skip
    assert body["phases"] == ["start", "end"] and body["comment_max_chars"] == 500


async def test_check_in_before_and_after_and_replace(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    path = f"/api/v1/rooms/{room_id}/checkins"
    first = await person.post(path, json={"phase": "start", "mood": 2})
    assert first.status_code == 201, first.text
    assert first.json() | {"created_at": None} == {
        "room_id": room_id, "phase": "start", "mood": 2, "comment": None, "created_at": None,
        "replaced": False,
    }  # fmt: skip
    again = await person.post(
        path, json={"phase": "start", "mood": 3, "comment": "  a bit tense \u202e "}
    )
    assert again.status_code == 200 and again.json()["replaced"] is True
    assert again.json()["comment"] == "a bit tense"
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    assert (await worker.post(f"/api/v1/rooms/{room_id}/close")).status_code == 200
    # The end check-in comes after the room has closed.
    end = await person.post(path, json={"phase": "end", "mood": 4, "comment": "x" * 500})
    assert end.status_code == 201, end.text
    outcome = (await worker.get(f"/api/v1/rooms/{room_id}/outcome")).json()
    assert outcome["mood"] == {"before": 3, "after": 4, "change": 1}
    assert "comments" not in outcome
    assert outcome["messages"]["participant"] == 0 and outcome["status"] == "closed"
    supervisor = await staff(server, http, "supervisor")
    seen = (await supervisor.get(f"/api/v1/rooms/{room_id}/outcome")).json()
    assert seen["comments"] == {"before": "a bit tense", "after": "x" * 500}


async def test_bad_check_ins_are_refused(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    path = f"/api/v1/rooms/{room_id}/checkins"
    for body in (
        {"phase": "start", "mood": 0},
        {"phase": "start", "mood": 6},
        {"phase": "middle", "mood": 3},
        {"phase": "end", "mood": "3"},
        {"phase": "end", "mood": True},
        {"phase": "end", "mood": 3.5},
        {"mood": 3},
        {"phase": "end", "mood": 3, "comment": "x" * 501},
        {"phase": "end", "mood": 3, "comment": 7},
    ):
        response = await person.post(path, json=body)
        assert response.status_code == 400 and error_code(response) == "bad_request", body
    someone = await participant(server, http)
    other = await someone.post(path, json={"phase": "start", "mood": 3})
    assert other.status_code == 403 and error_code(other) == "forbidden"
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(path, json={"phase": "start", "mood": 3})).status_code == 403
    missing = await person.post(
        "/api/v1/rooms/room_nope/checkins", json={"phase": "start", "mood": 3}
    )
    assert missing.status_code == 404
    group = (await worker.post("/api/v1/groups", json={"name": "Evening circle"})).json()["room_id"]
    assert (await person.post(f"/api/v1/groups/{group}/join")).status_code == 200
    in_group = await person.post(
        f"/api/v1/rooms/{group}/checkins", json={"phase": "start", "mood": 3}
    )
    assert in_group.status_code == 403


async def test_outcome_access(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    mine, theirs = (
        await staff(server, http, "peer_worker"),
        await staff(server, http, "peer_worker"),
    )
    assert (await mine.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    path = f"/api/v1/rooms/{room_id}/outcome"
    assert (await mine.get(path)).status_code == 200
    for caller in (theirs, person):
        refused = await caller.get(path)
        assert refused.status_code == 403 and error_code(refused) == "forbidden"
    active = (await mine.get(path)).json()
    assert active["status"] == "active" and active["duration_seconds"] >= 0
    assert active["wait_seconds"] >= 0 and active["closed_at"] is None
    group = (await mine.post("/api/v1/groups", json={"name": "Morning circle"})).json()["room_id"]
    supervisor = await staff(server, http, "supervisor")
    assert (await supervisor.get(f"/api/v1/rooms/{group}/outcome")).status_code == 400
    own = (await mine.get("/api/v1/me/outcomes")).json()
    assert own["active_rooms"] == 1 and own["conversations"][0]["room_id"] == room_id
    assert own["hours_today"] >= 0 and own["hours_this_week"] >= own["hours_today"]


async def test_deleting_my_data_deletes_my_check_ins(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    body = {"phase": "start", "mood": 2, "comment": "my words"}
    assert (await person.post(f"/api/v1/rooms/{room_id}/checkins", json=body)).status_code == 201
    assert (await http.delete("/api/v1/me", headers=person.auth)).status_code == 204
    async with server.domain.db.read() as session:
        left = await session.execute(select(CheckIn).where(CheckIn.participant_id == person.id))
        assert left.scalars().all() == []
