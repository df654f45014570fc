"""The crisis loop on one node with SQLite: help now, support, room risk, closing, staff notes,
waiting and the queue preview, each through real HTTP and WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.storage.models import AuditEntry, StaffNote
from tests.safety.crisis import (
    CRISIS_WORDS,
    alert_for,
    assert_calm_support,
    dashboard_where,
    no_weights,
    queue_entry,
    subscribed,
)
from tests.security.helpers import group_with
from tests.support.actors import claimed_room, error_code, participant, staff, waiting_room
from tests.support.server import RunningServer, migrate, node_settings, serve
from tests.support.wsclient import WsClient


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    folder = tmp_path_factory.mktemp("crisis")
    url = f"sqlite+aiosqlite:///{folder}/peerchat.db"
    await migrate(url)
    settings = node_settings(
        url, model_enabled=True, model_weights_dir=no_weights(folder), alert_ack_seconds=1
    )
    async with serve(settings) as running:
        yield running


async def test_help_now_reopens_counts_and_reaches_everyone(node: RunningServer) -> None:
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        supervisor = await staff(node, http, "supervisor")
        sup = await subscribed(node.ws_url, supervisor.token, "alerts")
        watcher = await subscribed(node.ws_url, worker.token, "queue")
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)
        p = await WsClient.connect(node.ws_url, person.token)
        await p.join(room_id)

        assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
        first = await alert_for(sup, room_id, 2, status="open", help_requests=1)
        assert first["severity"] == "crisis" and '"' not in first["reason"]
        seen = await w.expect("help_requested", room_id=room_id, timeout=2)
        assert seen["handle"] == person.handle and seen["help_requests"] == 1
        entry = await queue_entry(watcher, room_id, 3, lambda e: e["alert"] is not None)
        assert entry["alert"]["help_requests"] == 1 and entry["risk"]["level"] == "crisis"
        assert_calm_support(await p.expect("support", room_id=room_id, timeout=3), room_id)
        dash = await dashboard_where(sup, 3, lambda d: d["open_alerts"]["crisis"] >= 1)
        assert dash["rooms_by_risk"]["crisis"] >= 1

        acked = await supervisor.post(f"/api/v1/alerts/{first['alert_id']}/ack")
        assert acked.json()["status"] == "acknowledged"
        # pressed again while acknowledged: re-opened, counted, sent again at once
        assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
        again = await alert_for(sup, room_id, 2, status="open", help_requests=2)
        assert again["alert_id"] == first["alert_id"] and again["acknowledged_by"] is None
        assert (await w.expect("help_requested", room_id=room_id, timeout=2))["help_requests"] == 2
        await queue_entry(watcher, room_id, 3, lambda e: e["alert"]["help_requests"] == 2)
        # and re-sent until acknowledged again (PEERCHAT_ALERT_ACK_SECONDS is 1 here)
        frame = await sup.expect("alert", timeout=5, resent=True)
        assert frame["alert"]["alert_id"] == first["alert_id"]
        # one support offer per room per interval: the second press brought none
        assert not [f for f in await p.quiet(0.5) if f["type"] == "support"]
        for client in (sup, watcher, w, p):
            await client.close()


async def test_a_crisis_message_brings_support_to_the_participant_only(
    node: RunningServer,
) -> None:
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        p = await WsClient.connect(node.ws_url, person.token)
        await p.join(room_id)
        elsewhere = await WsClient.connect(node.ws_url, person.token)  # joined to nothing
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await p.say(room_id, CRISIS_WORDS)
        assert_calm_support(await p.expect("support", timeout=3), room_id)
        assert_calm_support(await elsewhere.expect("support", timeout=3), room_id)
        assert loop.time() - started < 3
        assert not [f for f in await w.quiet(0.5) if f["type"] == "support"]
        # within the interval a second crisis message brings no second offer
        await p.say(room_id, CRISIS_WORDS + " really")
        assert not [f for f in await p.quiet(0.8) if f["type"] == "support"]
        for client in (p, elsewhere, w):
            await client.close()


async def test_each_person_in_a_group_gets_their_own_offer(node: RunningServer) -> None:
    async with node.client() as http:
        group = await group_with(node, http, members=2)
        first, second = [await WsClient.connect(node.ws_url, m.token) for m in group.members]
        for client in (first, second):
            await client.join(group.room_id)
        await first.say(group.room_id, CRISIS_WORDS)
        assert_calm_support(await first.expect("support", timeout=3), group.room_id)
        # the offer is the speaker's alone, and it does not use up the other member's offer
        assert not [f for f in await second.quiet(0.5) if f["type"] == "support"]
        await second.say(group.room_id, CRISIS_WORDS + " as well")
        assert_calm_support(await second.expect("support", timeout=3), group.room_id)
        for client in (first, second):
            await client.close()


async def test_resources_follow_the_participants_language(node: RunningServer) -> None:
    async with node.client() as http:
        person = await participant(node, http, language="es")
        room_id = await waiting_room(person)
        p = await WsClient.connect(node.ws_url, person.token)
        await p.join(room_id)
        assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
        frame = await p.expect("support", room_id=room_id, timeout=3)
        assert_calm_support(frame, room_id)
        resources = json.loads((Path(__file__).parents[2] / "frontend/resources.json").read_text())
        names = {h["name"] for h in resources["es"]["helplines"]}
        assert names <= {r["name"] for r in frame["resources"]}
        assert "ayuda" in frame["message"]
        await p.close()


async def test_room_risk_stays_until_staff_lower_it(node: RunningServer) -> None:
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        other = await staff(node, http, "peer_worker")
        supervisor = await staff(node, http, "supervisor")
        sup = await subscribed(node.ws_url, supervisor.token, "alerts")
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)
        await person.post(f"/api/v1/rooms/{room_id}/help")
        alert = await alert_for(sup, room_id, 2, status="open")
        resolved = await supervisor.post(
            f"/api/v1/alerts/{alert['alert_id']}/resolve", json={"notes": "called back"}
        )
        assert resolved.status_code == 200
        risk = (await w.expect("room_risk", room_id=room_id, timeout=3))["risk"]
        assert risk["level"] == "crisis" and risk["reviewed_by"] == supervisor.id
        room = (await worker.get(f"/api/v1/rooms/{room_id}")).json()
        assert room["risk"]["level"] == "crisis" and room["risk"]["reviewed_by"] == supervisor.id
        assert room["risk"]["reviewed_at"]
        queue = (await worker.get("/api/v1/queue")).json()["rooms"]
        assert [e["risk"] for e in queue if e["room_id"] == room_id] == [room["risk"]]
        dash = (await supervisor.get("/api/v1/dashboard")).json()
        assert dash["rooms_by_risk"]["crisis"] >= 1

        path = f"/api/v1/rooms/{room_id}/risk"
        assert error_code(await worker.post(path, json={"level": "none"})) == "bad_request"
        no_note = await worker.post(path, json={"level": "none", "note": "  "})
        assert error_code(no_note) == "bad_request"
        assert error_code(await other.post(path, json={"level": "none", "note": "x"})) == (
            "forbidden"
        )
        assert error_code(await person.post(path, json={"level": "none", "note": "x"})) == (
            "forbidden"
        )
        lowered = await worker.post(path, json={"level": "elevated", "note": "safety plan made"})
        assert lowered.status_code == 200, lowered.text
        assert lowered.json()["risk"]["level"] == "elevated"
        assert lowered.json()["risk"]["reviewed_by"] == worker.id
        frame = await w.expect("room_risk", room_id=room_id, timeout=3)
        while frame["risk"]["level"] != "elevated":
            frame = await w.expect("room_risk", room_id=room_id, timeout=3)
        raising = await worker.post(path, json={"level": "crisis", "note": "worse"})
        assert error_code(raising) == "bad_request"
        async with node.domain.db.read() as session:
            audited = (
                await session.execute(
                    select(AuditEntry).where(
                        AuditEntry.room_id == room_id, AuditEntry.action == "room_risk_lowered"
                    )
                )
            ).scalar_one()
        assert audited.actor_id == worker.id and audited.detail["note"] == "safety plan made"
        assert (audited.detail["previous"], audited.detail["level"]) == ("crisis", "elevated")
        await sup.close()
        await w.close()


async def test_every_risk_change_moves_the_rooms_risk_version_on(node: RunningServer) -> None:
    """Pages hear of a room's risk from room frames, queue snapshots and HTTP replies, in no
    set order: the version, the same in each view of one state, tells them which is newer."""
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        supervisor = await staff(node, http, "supervisor")
        sup = await subscribed(node.ws_url, supervisor.token, "alerts")
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)

        async def shown() -> dict[str, Any]:
            room = (await worker.get(f"/api/v1/rooms/{room_id}")).json()["risk"]
            queue = (await worker.get("/api/v1/queue")).json()["rooms"]
            assert [e["risk"] for e in queue if e["room_id"] == room_id] == [room]
            return dict(room)

        versions = [(await shown())["version"]]
        await person.post(f"/api/v1/rooms/{room_id}/help")
        alert = await alert_for(sup, room_id, 2, status="open")
        helped = await shown()
        assert helped["level"] == "crisis"
        versions.append(helped["version"])
        await supervisor.post(f"/api/v1/alerts/{alert['alert_id']}/resolve", json={"notes": "ok"})
        frame = (await w.expect("room_risk", room_id=room_id, timeout=3))["risk"]
        assert frame["reviewed_by"] == supervisor.id
        assert frame["version"] == (await shown())["version"]
        versions.append(frame["version"])
        lowered = await worker.post(
            f"/api/v1/rooms/{room_id}/risk", json={"level": "elevated", "note": "plan made"}
        )
        reply = lowered.json()["risk"]
        frame = await w.expect("room_risk", room_id=room_id, timeout=3)
        while frame["risk"]["level"] != "elevated":
            frame = await w.expect("room_risk", room_id=room_id, timeout=3)
        assert reply["version"] == frame["risk"]["version"] == (await shown())["version"]
        versions.append(reply["version"])
        await person.post(f"/api/v1/rooms/{room_id}/help")  # a second press re-opens the review
        again = await shown()
        assert again["level"] == "crisis" and again["reviewed_by"] is None
        versions.append(again["version"])
        assert all(isinstance(v, int) for v in versions)
        assert versions == sorted(set(versions)), versions  # each change newer than the last
        await sup.close()
        await w.close()


async def test_closing_a_room_in_crisis_needs_a_safety_note(node: RunningServer) -> None:
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        supervisor = await staff(node, http, "supervisor")
        await person.post(f"/api/v1/rooms/{room_id}/help")
        for body in (None, {"notes": "done"}, {"safety_note": "   "}):
            refused = await worker.post(f"/api/v1/rooms/{room_id}/close", json=body)
            assert refused.status_code == 409 and error_code(refused) == "conflict"
        assert (await worker.get(f"/api/v1/rooms/{room_id}")).json()["status"] == "active"
        closed = await worker.post(
            f"/api/v1/rooms/{room_id}/close",
            json={"notes": "ended", "safety_note": "Called 112 with them; they are safe."},
        )
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed" and len(closed.json()["resolved_alerts"]) == 1
        alerts = (await supervisor.get("/api/v1/alerts")).json()["alerts"]
        mine = [a for a in alerts if a["room_id"] == room_id]
        assert [a["status"] for a in mine] == ["resolved"]
        assert mine[0]["resolution_notes"] == "Called 112 with them; they are safe."
        assert mine[0]["resolved_by"] == worker.id
        # a room with no crisis alert closes as before
        _, worker2, calm = await claimed_room(node, http)
        assert (await worker2.post(f"/api/v1/rooms/{calm}/close")).status_code == 200


async def test_staff_notes_reach_staff_only_and_never_the_transcript(
    node: RunningServer,
) -> None:
    async with node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        supervisor = await staff(node, http, "supervisor")
        outsider = await staff(node, http, "peer_worker")
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)
        s = await WsClient.connect(node.ws_url, supervisor.token)
        await s.join(room_id)
        p = await WsClient.connect(node.ws_url, person.token)
        await p.join(room_id)
        cid = uuid.uuid4().hex
        frame = {"type": "note", "room_id": room_id, "client_msg_id": cid, "body": "plan: call"}
        await w.send(frame)
        ack = await w.expect("note_ack", client_msg_id=cid)
        got = await s.expect("note", room_id=room_id)
        assert got["note_id"] == ack["note_id"] and got["body"] == "plan: call"
        assert got["author"] == {"id": worker.id, "handle": worker.handle, "role": "peer_worker"}
        await w.send(frame)  # the same client_msg_id: the same note, told to no one again
        assert (await w.expect("note_ack", client_msg_id=cid))["note_id"] == ack["note_id"]
        assert not [f for f in await s.quiet(0.4) if f["type"] == "note"]
        assert not [f for f in await p.quiet(0.2) if f["type"] in ("note", "note_ack")]
        await p.send({**frame, "client_msg_id": "p1"})
        assert (await p.expect("error", timeout=3))["code"] == "forbidden"
        listed = (await worker.get(f"/api/v1/rooms/{room_id}/notes")).json()["notes"]
        assert [n["note_id"] for n in listed] == [ack["note_id"]]
        assert (await person.get(f"/api/v1/rooms/{room_id}/notes")).status_code == 403
        assert (await outsider.get(f"/api/v1/rooms/{room_id}/notes")).status_code == 403
        history = (await worker.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
        assert "plan: call" not in [m["body"] for m in history]
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        # "delete my data" takes the notes about the participant's conversation with it
        assert (await person.delete("/api/v1/me")).status_code in (200, 204)
        async with node.domain.db.read() as session:
            bodies = list(
                (
                    await session.execute(
                        select(StaffNote.body).where(StaffNote.room_id == room_id)
                    )
                ).scalars()
            )
        assert bodies and "plan: call" not in bodies
        for client in (w, s, p):
            await client.close()


async def test_waiting_position_and_estimate(node: RunningServer) -> None:
    async with node.client() as http:
        # clear the queue of earlier tests' requests, so positions start at 1
        supervisor = await staff(node, http, "supervisor")
        for entry in (await supervisor.get("/api/v1/queue")).json()["rooms"]:
            if entry["status"] == "waiting":
                await supervisor.post(
                    f"/api/v1/rooms/{entry['room_id']}/close",
                    json={"safety_note": "tidied by the test"},
                )
        first = await participant(node, http)
        first_room = await waiting_room(first, note="x" * 200)
        second = await participant(node, http)
        second_room = await waiting_room(second)
        a = await WsClient.connect(node.ws_url, first.token)
        await a.join(first_room)
        got = await a.expect("waiting", room_id=first_room, timeout=3)
        assert got["position"] == 1 and "estimated_wait_seconds" in got
        b = await WsClient.connect(node.ws_url, second.token)
        await b.join(second_room)
        assert (await b.expect("waiting", room_id=second_room, timeout=3))["position"] == 2
        # the queue shows the first words of the request
        queue = (await supervisor.get("/api/v1/queue")).json()["rooms"]
        preview = next(e["preview"] for e in queue if e["room_id"] == first_room)
        assert preview == "x" * 140
        assert next(e["preview"] for e in queue if e["room_id"] == second_room) is None
        # a claim moves the second up, and the wait it took now informs the estimate
        worker = await staff(node, http, "peer_worker")
        assert (await worker.post(f"/api/v1/rooms/{first_room}/claim")).status_code == 200
        moved = await b.expect("waiting", room_id=second_room, timeout=3)
        assert moved["position"] == 1 and isinstance(moved["estimated_wait_seconds"], int)
        # a new request behind it changes nothing for it; withdrawing does
        third = await participant(node, http)
        third_room = await waiting_room(third)
        c = await WsClient.connect(node.ws_url, third.token)
        await c.join(third_room)
        assert (await c.expect("waiting", room_id=third_room, timeout=3))["position"] == 2
        assert not [f for f in await b.quiet(0.5) if f["type"] == "waiting"]
        assert (await second.post(f"/api/v1/rooms/{second_room}/leave")).status_code == 200
        assert (await c.expect("waiting", room_id=third_room, timeout=3))["position"] == 1
        for client in (a, b, c):
            await client.close()
