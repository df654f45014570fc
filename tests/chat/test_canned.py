"""Canned responses: seeded defaults, who reads and who manages, clear refusals, the audit log."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.storage.models import AuditEntry
from tests.support.actors import error_code, participant, staff
from tests.support.server import RunningServer

DEFAULT_IDS = [
    "canned_default_greeting",
    "canned_default_still_here",
    "canned_default_helplines",
    "canned_default_closing",
]


async def test_defaults_are_seeded_and_staff_read_them(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    response = await worker.get("/api/v1/canned-responses")
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["canned_responses"]}
    assert set(DEFAULT_IDS) <= set(items)
    assert [items[i]["title"] for i in DEFAULT_IDS] == [
        "Greeting",
        "I'm still here",
        "Helplines",
        "Closing",
    ]
    assert "emergency number" in items["canned_default_helplines"]["body"]
    supervisor = await staff(server, http, "supervisor")
    assert (await supervisor.get("/api/v1/canned-responses")).status_code == 200


async def test_only_supervisors_and_admins_manage_and_participants_never_read(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    assert (await person.get("/api/v1/canned-responses")).status_code == 403
    assert (await http.get("/api/v1/canned-responses")).status_code == 401
    worker = await staff(server, http, "peer_worker")
    new = {"title": "Check", "body": "How are you doing right now?"}
    refused = await worker.post("/api/v1/canned-responses", json=new)
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    for call in (
        worker.put("/api/v1/canned-responses/canned_default_greeting", json={"title": "x"}),
        worker.delete("/api/v1/canned-responses/canned_default_greeting"),
    ):
        assert (await call).status_code == 403
    admin = await staff(server, http, "admin")
    made = await admin.post("/api/v1/canned-responses", json=new)
    assert made.status_code == 201
    assert (await admin.delete(f"/api/v1/canned-responses/{made.json()['id']}")).status_code == 204


async def test_supervisor_creates_edits_deletes_and_every_change_is_audited(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    supervisor = await staff(server, http, "supervisor")
    made = await supervisor.post(
        "/api/v1/canned-responses",
        json={
            "title": "  Breathing  ",
            "body": "Let's take a slow breath together.\nIn... and out.",
        },
    )
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["title"] == "Breathing" and item["body"].endswith("In... and out.")
    assert item["updated_by"] == supervisor.id
    listed = (await supervisor.get("/api/v1/canned-responses")).json()["canned_responses"]
    assert listed[-1]["id"] == item["id"]  # new ones go last

    changed = await supervisor.put(
        f"/api/v1/canned-responses/{item['id']}", json={"body": "Let's breathe together."}
    )
    assert changed.status_code == 200 and changed.json()["title"] == "Breathing"
    assert changed.json()["body"] == "Let's breathe together."
    gone = await supervisor.delete(f"/api/v1/canned-responses/{item['id']}")
    assert gone.status_code == 204
    again = await supervisor.delete(f"/api/v1/canned-responses/{item['id']}")
    assert again.status_code == 404 and error_code(again) == "not_found"

    async with server.domain.db.read() as session:
        entries = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.target_id == item["id"])
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )
    assert [e.action for e in entries] == [
        "canned_response_created",
        "canned_response_updated",
        "canned_response_deleted",
    ]
    assert all(e.actor_id == supervisor.id for e in entries)
    assert entries[1].detail["before"]["body"].startswith("Let's take a slow breath")
    assert entries[1].detail["after"]["body"] == "Let's breathe together."


async def test_bad_input_gets_a_clear_error(server: RunningServer, http: httpx.AsyncClient) -> None:
    supervisor = await staff(server, http, "supervisor")
    for body, words in (
        ({"body": "no title"}, "title is required"),
        ({"title": "   ", "body": "x"}, "title is required"),
        ({"title": "x" * 81, "body": "x"}, "title must be at most 80 characters"),
        ({"title": "Long", "body": "x" * 4001}, "body must be at most 4000 characters"),
        ({"title": 3, "body": "x"}, "title must be a string"),
        ({"title": "x", "body": "x", "position": -1}, "position must be a whole number"),
    ):
        response = await supervisor.post("/api/v1/canned-responses", json=body)
        assert response.status_code == 400, (body, response.text)
        assert error_code(response) == "bad_request"
        assert words in response.json()["error"]["detail"], response.text
    unknown = await supervisor.post(
        "/api/v1/canned-responses", json={"title": "x", "body": "x", "colour": "red"}
    )
    assert unknown.status_code == 400
    empty = await supervisor.put("/api/v1/canned-responses/canned_default_greeting", json={})
    assert empty.status_code == 400
    missing = await supervisor.put("/api/v1/canned-responses/canned_nope", json={"title": "x"})
    assert missing.status_code == 404
