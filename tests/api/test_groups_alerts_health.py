"""Groups, alerts, health endpoints and the error format at the edges."""

from __future__ import annotations

import httpx

from app.safety import alerts
from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer


async def test_groups(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    created = await worker.post("/api/v1/groups", json={"name": "Sleep & worry", "topic": "sleep"})
    assert created.status_code == 201
    room_id = created.json()["room_id"]
    person = await participant(server, http)
    joined = await person.post(f"/api/v1/groups/{room_id}/join")
    assert joined.status_code == 200
    assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200  # idempotent
    listed = (await person.get("/api/v1/groups")).json()["groups"]
    entry = next(g for g in listed if g["room_id"] == room_id)
    assert entry == {
        "room_id": room_id, "name": "Sleep & worry", "topic": "sleep", "members": 1, "paused": False,
    }  # fmt: skip
    assert (await person.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 200
    assert (await person.post(f"/api/v1/groups/{room_id}/leave")).status_code == 200
    assert (await person.get(f"/api/v1/rooms/{room_id}/messages")).status_code == 403


async def test_group_refusals(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    refused = await person.post("/api/v1/groups", json={"name": "mine"})
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    worker = await staff(server, http, "peer_worker")
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "x" * 200}):
        bad = await worker.post("/api/v1/groups", json=body)
        assert bad.status_code == 400 and error_code(bad) == "bad_request", body
    room_id = (await worker.post("/api/v1/groups", json={"name": "ok"})).json()["room_id"]
    assert (await worker.post(f"/api/v1/groups/{room_id}/join")).status_code == 403
    one_to_one = await waiting_room(person)
    other = await participant(server, http)
    assert (await other.post(f"/api/v1/groups/{one_to_one}/join")).status_code == 404
    assert (await other.post("/api/v1/groups/room_nope/join")).status_code == 404
    assert (await http.get("/api/v1/groups")).status_code == 401


async def test_alerts_are_for_supervisors(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    helped = await person.post(f"/api/v1/rooms/{room_id}/help")
    assert helped.status_code == 201
    supervisor = await staff(server, http, "supervisor")
    listed = await supervisor.get("/api/v1/alerts", params={"status": "open"})
    assert listed.status_code == 200
    alert = next(a for a in listed.json()["alerts"] if a["room_id"] == room_id)
    assert alert["severity"] == "crisis" and alert["status"] == "open"
    assert {
        "alert_id",
        "room_id",
        "severity",
        "reason",
        "excerpt",
        "created_at",
        "status",
        "acknowledged_by",
    } <= set(alert)
    for actor in (person, await staff(server, http, "peer_worker")):
        response = await actor.get("/api/v1/alerts")
        assert response.status_code == 403 and error_code(response) == "forbidden"
        ack = await actor.post(f"/api/v1/alerts/{alert['alert_id']}/ack")
        assert ack.status_code == 403

    acked = await supervisor.post(f"/api/v1/alerts/{alert['alert_id']}/ack")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == supervisor.id
    resolved = await supervisor.post(
        f"/api/v1/alerts/{alert['alert_id']}/resolve", json={"notes": "called them back"}
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_notes"] == "called them back"
    again = await supervisor.post(f"/api/v1/alerts/{alert['alert_id']}/resolve")
    assert again.status_code == 409
    only_resolved = (await supervisor.get("/api/v1/alerts", params={"status": "resolved"})).json()
    assert all(a["status"] == "resolved" for a in only_resolved["alerts"])
    bad = await supervisor.get("/api/v1/alerts", params={"status": "whatever"})
    assert bad.status_code == 400 and error_code(bad) == "bad_request"
    missing = await supervisor.post("/api/v1/alerts/alert_nope/ack")
    assert missing.status_code == 404 and error_code(missing) == "not_found"


async def test_one_open_alert_per_room_and_severity(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    room_id = await waiting_room(await participant(server, http))
    first = await alerts.raise_or_attach(
        server.domain, room_id=room_id, severity="warning", reason="slide"
    )
    second = await alerts.raise_or_attach(
        server.domain, room_id=room_id, severity="warning", reason="slide again"
    )
    assert first.created and not second.created
    assert second.alert["alert_id"] == first.alert["alert_id"]
    assert second.alert["attached_count"] == 1


async def test_help_is_only_for_members(server: RunningServer, http: httpx.AsyncClient) -> None:
    room_id = await waiting_room(await participant(server, http))
    outsider = await participant(server, http)
    response = await outsider.post(f"/api/v1/rooms/{room_id}/help")
    assert response.status_code == 403


async def test_health_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = await http.get("/metrics")
    assert metrics.status_code == 200 and "peerchat_messages_stored" in metrics.text


async def test_edges_use_the_error_format(http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/v1/no/such/thing")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    wrong_method = await http.delete("/api/v1/groups")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.json()
    huge = await http.post(
        "/api/v1/auth/login",
        content=b"{" + b" " * 200_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and error_code(huge) == "too_large"
