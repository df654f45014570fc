"""The crisis loop across two nodes on PostgreSQL, sharing a Redis of their own: every frame of
it reaches its people whichever node they are connected to, within the contract's times."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import pytest

from tests.faults.helpers import settings_for
from tests.safety.crisis import (
    CRISIS_WORDS,
    alert_for,
    assert_calm_support,
    dashboard_where,
    no_weights,
    queue_entry,
    subscribed,
)
from tests.support import services
from tests.support.actors import claimed_room, error_code, participant, staff, waiting_room
from tests.support.processes import free_port, private_redis, wait_port
from tests.support.server import RunningServer, migrate, serve
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
async def nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    db = await services.create_postgres_database()
    await migrate(db)
    weights = no_weights(Path(tmp_path_factory.mktemp("crisis-cluster")))
    port = free_port()
    namespace = f"crisis-{uuid.uuid4().hex[:8]}"
    try:
        with ExitStack() as procs:
            procs.enter_context(private_redis(port))
            await wait_port(port)
            async with AsyncExitStack() as stack:
                a, b = [
                    await stack.enter_async_context(
                        serve(
                            settings_for(
                                db, redis_url=f"redis://127.0.0.1:{port}/0",
                                redis_namespace=namespace, node_id=name, model_enabled=True,
                                model_weights_dir=weights, alert_ack_seconds=2,
                            )
                        )
                    )
                    for name in ("node-a", "node-b")
                ]  # fmt: skip
                yield a, b
    finally:
        await services.drop_postgres_database(db)


async def test_help_now_reaches_supervisors_and_the_worker_on_every_node(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http:
        person, worker, room_id = await claimed_room(a, http)
        supervisor = await staff(a, http, "supervisor")
        sup_b = await subscribed(b.ws_url, supervisor.token, "alerts")
        sup_a = await subscribed(a.ws_url, supervisor.token, "alerts")
        queue_b = await subscribed(b.ws_url, worker.token, "queue")
        w_b = await WsClient.connect(b.ws_url, worker.token)
        await w_b.join(room_id)
        p_a = await WsClient.connect(a.ws_url, person.token)
        await p_a.join(room_id)
        p_b = await WsClient.connect(b.ws_url, person.token)  # a second tab, on the other node

        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
        first = await alert_for(sup_b, room_id, 2, status="open", help_requests=1)
        await alert_for(sup_a, room_id, 2, status="open", help_requests=1)
        assert loop.time() - started < 2
        assert (await w_b.expect("help_requested", room_id=room_id, timeout=2))[
            "help_requests"
        ] == 1
        await queue_entry(queue_b, room_id, 3, lambda e: (e["alert"] or {}).get("help_requests"))
        assert_calm_support(await p_a.expect("support", room_id=room_id, timeout=3), room_id)
        assert_calm_support(await p_b.expect("support", room_id=room_id, timeout=3), room_id)
        await dashboard_where(sup_a, 3, lambda d: d["open_alerts"]["crisis"] >= 1)

        # acknowledged on node A; a second press through node B re-opens it for everyone
        acked = await supervisor.post(f"/api/v1/alerts/{first['alert_id']}/ack")
        assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
        await alert_for(sup_b, room_id, 2, status="acknowledged")
        async with b.client() as http_b:
            started = loop.time()
            pressed = await http_b.post(f"/api/v1/rooms/{room_id}/help", headers=person.auth)
            assert pressed.status_code == 201
        again = await alert_for(sup_b, room_id, 2, status="open", help_requests=2)
        await alert_for(sup_a, room_id, 2, status="open", help_requests=2)
        assert loop.time() - started < 2
        assert again["alert_id"] == first["alert_id"] and again["acknowledged_by"] is None
        await w_b.expect("help_requested", room_id=room_id, help_requests=2, timeout=2)
        await queue_entry(queue_b, room_id, 3, lambda e: e["alert"]["help_requests"] == 2)
        # not acknowledged again: sent again to every supervisor
        resent = await sup_b.expect("alert", timeout=6, resent=True)
        assert resent["alert"]["alert_id"] == first["alert_id"]
        for client in (sup_a, sup_b, queue_b, w_b, p_a, p_b):
            await client.close()


async def test_crisis_words_bring_support_and_a_plain_alert_across_nodes(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http:
        person, worker, room_id = await claimed_room(a, http)
        supervisor = await staff(a, http, "supervisor")
        sup_b = await subscribed(b.ws_url, supervisor.token, "alerts")
        p_a = await WsClient.connect(a.ws_url, person.token)
        await p_a.join(room_id)
        p_b = await WsClient.connect(b.ws_url, person.token)
        w_b = await WsClient.connect(b.ws_url, worker.token)
        await w_b.join(room_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        ack = await p_a.say(room_id, CRISIS_WORDS)
        assert_calm_support(await p_a.expect("support", room_id=room_id, timeout=3), room_id)
        assert_calm_support(await p_b.expect("support", room_id=room_id, timeout=3), room_id)
        assert loop.time() - started < 3
        alert = await alert_for(sup_b, room_id, 3, severity="crisis")
        assert alert["message_seq"] == ack["seq"] and alert["status"] == "open"
        # plain words; anything in double quotes is the participant's own; evidence apart
        assert alert["reason"].startswith("crisis language")
        quoted = alert["reason"].split('"')[1::2]
        assert quoted and all(q in CRISIS_WORDS for q in quoted)
        assert alert["evidence"] and all("source" in e for e in alert["evidence"])
        assert not [e for e in alert["evidence"] if e.get("text") and e["text"] in alert["reason"]]
        assert not [f for f in await w_b.quiet(0.5) if f["type"] == "support"]
        for client in (sup_b, p_a, p_b, w_b):
            await client.close()


async def test_room_risk_review_lowering_and_dashboard_across_nodes(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http, b.client() as http_b:
        person, worker, room_id = await claimed_room(a, http)
        supervisor = await staff(a, http, "supervisor")
        sup_a = await subscribed(a.ws_url, supervisor.token, "alerts")
        w_b = await WsClient.connect(b.ws_url, worker.token)
        await w_b.join(room_id)
        before = (await http_b.get("/api/v1/dashboard", headers=supervisor.auth)).json()
        await person.post(f"/api/v1/rooms/{room_id}/help")
        alert = await alert_for(sup_a, room_id, 2, status="open")
        # counted the moment the alert arrives, on the other node too
        now = (await http_b.get("/api/v1/dashboard", headers=supervisor.auth)).json()
        assert now["open_alerts"]["crisis"] == before["open_alerts"]["crisis"] + 1
        assert now["rooms_by_risk"]["crisis"] == before["rooms_by_risk"]["crisis"] + 1
        # and sent live to the supervisor's page
        crisis_now = now["open_alerts"]["crisis"]
        await dashboard_where(sup_a, 3, lambda d: d["open_alerts"]["crisis"] == crisis_now)
        resolved = await supervisor.post(f"/api/v1/alerts/{alert['alert_id']}/resolve")
        assert resolved.status_code == 200
        risk = (await w_b.expect("room_risk", room_id=room_id, timeout=3))["risk"]
        assert risk["level"] == "crisis" and risk["reviewed_by"] == supervisor.id
        queue = (await http_b.get("/api/v1/queue", headers=worker.auth)).json()["rooms"]
        assert [e["risk"]["level"] for e in queue if e["room_id"] == room_id] == ["crisis"]
        lowered = await http_b.post(
            f"/api/v1/rooms/{room_id}/risk", headers=worker.auth,
            json={"level": "none", "note": "talked it through; safe at home"},
        )  # fmt: skip
        assert lowered.status_code == 200, lowered.text
        frame = await w_b.expect("room_risk", room_id=room_id, timeout=3)
        assert frame["risk"]["level"] == "none" and frame["risk"]["reviewed_by"] == worker.id
        room = (await supervisor.get(f"/api/v1/rooms/{room_id}")).json()
        assert room["risk"]["level"] == "none"
        for client in (sup_a, w_b):
            await client.close()


async def test_closing_in_crisis_takes_a_safety_note_on_any_node(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http, b.client() as http_b:
        person, worker, room_id = await claimed_room(a, http)
        supervisor = await staff(a, http, "supervisor")
        sup_a = await subscribed(a.ws_url, supervisor.token, "alerts")
        await person.post(f"/api/v1/rooms/{room_id}/help")
        await alert_for(sup_a, room_id, 2, status="open")
        path = f"/api/v1/rooms/{room_id}/close"
        refused = await http_b.post(path, headers=worker.auth, json={"notes": "bye"})
        assert refused.status_code == 409 and error_code(refused) == "conflict"
        closed = await http_b.post(
            path, headers=worker.auth, json={"safety_note": "Their sister is with them now."}
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        done = await alert_for(sup_a, room_id, 3, status="resolved")
        assert done["resolution_notes"] == "Their sister is with them now."
        await sup_a.close()


async def test_staff_notes_reach_staff_in_the_room_on_every_node(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http:
        person, worker, room_id = await claimed_room(a, http)
        supervisor = await staff(a, http, "supervisor")
        w_a = await WsClient.connect(a.ws_url, worker.token)
        await w_a.join(room_id)
        s_b = await WsClient.connect(b.ws_url, supervisor.token)
        await s_b.join(room_id)
        p_b = await WsClient.connect(b.ws_url, person.token)
        await p_b.join(room_id)
        await w_a.send(
            {"type": "note", "room_id": room_id, "client_msg_id": "n1", "body": "check in at 6"}
        )
        ack = await w_a.expect("note_ack", client_msg_id="n1", timeout=3)
        note = await s_b.expect("note", room_id=room_id, timeout=3)
        assert note["note_id"] == ack["note_id"] and note["body"] == "check in at 6"
        assert not [f for f in await p_b.quiet(0.5) if f["type"] in ("note", "note_ack")]
        async with b.client() as http_b:
            listed = await http_b.get(f"/api/v1/rooms/{room_id}/notes", headers=supervisor.auth)
            assert [n["body"] for n in listed.json()["notes"]] == ["check in at 6"]
            history = await http_b.get(f"/api/v1/rooms/{room_id}/messages", headers=supervisor.auth)
            assert "check in at 6" not in [m["body"] for m in history.json()["messages"]]
        for client in (w_a, s_b, p_b):
            await client.close()


async def test_waiting_positions_follow_claims_on_other_nodes(
    nodes: tuple[RunningServer, RunningServer],
) -> None:
    a, b = nodes
    async with a.client() as http:
        supervisor = await staff(a, http, "supervisor")
        for entry in (await supervisor.get("/api/v1/queue")).json()["rooms"]:
            if entry["status"] == "waiting":
                await supervisor.post(
                    f"/api/v1/rooms/{entry['room_id']}/close", json={"safety_note": "tidy"}
                )
        first = await participant(a, http)
        first_room = await waiting_room(first, note="I have not slept for days")
        second = await participant(a, http)
        second_room = await waiting_room(second)
        waiting_b = await WsClient.connect(b.ws_url, second.token)
        await waiting_b.join(second_room)
        assert (await waiting_b.expect("waiting", room_id=second_room, timeout=3))["position"] == 2
        queue = (await supervisor.get("/api/v1/queue")).json()["rooms"]
        assert [e["preview"] for e in queue if e["room_id"] == first_room] == [
            "I have not slept for days"
        ]
        worker = await staff(a, http, "peer_worker")
        assert (await worker.post(f"/api/v1/rooms/{first_room}/claim")).status_code == 200
        moved = await waiting_b.expect("waiting", room_id=second_room, timeout=3)
        assert moved["position"] == 1 and moved["estimated_wait_seconds"] is not None
        await waiting_b.close()
