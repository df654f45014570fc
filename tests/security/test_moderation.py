"""Blocking and reporting in groups, against a real server and real WebSocket clients."""

from __future__ import annotations

import httpx

from tests.security.helpers import group_with
from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


async def test_a_block_hides_messages_and_typing_from_the_blocker_only(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    group = await group_with(server, http, members=3)
    alice, bully, carol = group.members
    a = await WsClient.connect(server.ws_url, alice.token)
    b = await WsClient.connect(server.ws_url, bully.token)
    c = await WsClient.connect(server.ws_url, carol.token)
    for client in (a, b, c):
        await client.join(group.room_id)

    blocked = await alice.post(
        f"/api/v1/rooms/{group.room_id}/block", json={"participant_id": bully.id}
    )
    assert blocked.status_code == 201, blocked.text
    again = await alice.post(
        f"/api/v1/rooms/{group.room_id}/block", json={"participant_id": bully.id}
    )
    assert again.status_code == 200

    hidden = await b.say(group.room_id, "you are worthless")
    await b.send({"type": "typing", "room_id": group.room_id})
    shown = await c.say(group.room_id, "welcome, everyone")
    # Carol sees the bully; Alice sees only Carol's message, and her cursor has no gap.
    assert (await c.expect("message", seq=hidden["seq"]))["body"] == "you are worthless"
    got = await a.expect("message", room_id=group.room_id)
    assert got["seq"] == shown["seq"]
    seen = await a.quiet(0.5)
    assert not [f for f in seen if f.get("type") in ("message", "typing")], seen

    # History and a resumed session hide them too; for Carol nothing is hidden.
    history = (await alice.get(f"/api/v1/rooms/{group.room_id}/messages")).json()["messages"]
    assert [m["seq"] for m in history] == [shown["seq"]]
    others = (await carol.get(f"/api/v1/rooms/{group.room_id}/messages")).json()["messages"]
    assert {hidden["seq"], shown["seq"]} <= {m["seq"] for m in others}
    await a.close()
    a = await WsClient.connect(server.ws_url, alice.token)
    await a.join(group.room_id, after_seq=0)
    replayed = await a.quiet(0.5)
    assert [f["seq"] for f in replayed if f["type"] == "message"] == [shown["seq"]]
    later = await b.say(group.room_id, "still here")
    after = await c.say(group.room_id, "and me")
    assert (await a.expect("message", room_id=group.room_id))["seq"] == after["seq"]
    assert later["seq"] < after["seq"]
    for client in (a, b, c):
        await client.close()


async def test_a_block_applies_in_every_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    first = await group_with(server, http, members=2)
    alice, bully = first.members
    second = await first.moderator.post("/api/v1/groups", json={"name": "mornings"})
    other_room = second.json()["room_id"]
    for person in (alice, bully):
        assert (await person.post(f"/api/v1/groups/{other_room}/join")).status_code == 200
    assert (
        await alice.post(f"/api/v1/rooms/{first.room_id}/block", json={"participant_id": bully.id})
    ).status_code == 201
    b = await WsClient.connect(server.ws_url, bully.token)
    await b.join(other_room)
    await b.say(other_room, "found you here too")
    a = await WsClient.connect(server.ws_url, alice.token)
    await a.join(other_room, after_seq=0)
    assert not [f for f in await a.quiet(0.5) if f["type"] == "message"]
    history = (await alice.get(f"/api/v1/rooms/{other_room}/messages")).json()["messages"]
    assert history == []
    await a.close()
    await b.close()


async def test_block_refusals(server: RunningServer, http: httpx.AsyncClient) -> None:
    group = await group_with(server, http, members=1)
    (alice,) = group.members
    outsider = await participant(server, http)
    path = f"/api/v1/rooms/{group.room_id}/block"
    cases = [
        (alice, {"participant_id": alice.id}, 400, "bad_request"),
        (alice, {"participant_id": outsider.id}, 404, "not_found"),
        (alice, {"participant_id": group.moderator.id}, 404, "not_found"),
        (alice, {}, 400, "bad_request"),
        (alice, {"participant_id": 7}, 400, "bad_request"),
        (outsider, {"participant_id": alice.id}, 403, "forbidden"),
        (group.moderator, {"participant_id": alice.id}, 403, "forbidden"),
    ]
    for actor, body, status, code in cases:
        response = await actor.post(path, json=body)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code
    missing = await alice.post("/api/v1/rooms/room_nope/block", json={"participant_id": "p_x"})
    assert missing.status_code == 404
    one_room = await waiting_room(outsider)
    one = await outsider.post(f"/api/v1/rooms/{one_room}/block", json={"participant_id": alice.id})
    assert one.status_code == 400


async def test_a_report_reaches_the_moderators_only(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    group = await group_with(server, http, members=2)
    alice, bully = group.members
    mod = await WsClient.connect(server.ws_url, group.moderator.token)
    a = await WsClient.connect(server.ws_url, alice.token)
    b = await WsClient.connect(server.ws_url, bully.token)
    for client in (mod, a, b):
        await client.join(group.room_id)
    said = await b.say(group.room_id, "nobody would miss you")
    path = f"/api/v1/rooms/{group.room_id}/messages/{said['seq']}/report"

    filed = await alice.post(path, json={"reason": "cruel"})
    assert filed.status_code == 201, filed.text
    report = filed.json()
    assert report["status"] == "open" and report["seq"] == said["seq"]
    frame = await mod.expect("report", room_id=group.room_id)
    assert {k: frame[k] for k in ("seq", "reason", "reported_by")} == {
        "seq": said["seq"], "reason": "cruel", "reported_by": alice.id,
    }  # fmt: skip
    assert not [f for f in await a.quiet(0.3) + await b.quiet(0.1) if f["type"] == "report"]
    assert (await alice.post(path, json={"reason": "cruel"})).status_code == 200  # no duplicate

    listed = await group.moderator.get("/api/v1/reports")
    assert listed.status_code == 200
    mine = [r for r in listed.json()["reports"] if r["report_id"] == report["report_id"]]
    assert len(mine) == 1 and mine[0]["excerpt"] == "nobody would miss you"
    for person in (alice, bully):
        refused = await person.get("/api/v1/reports")
        assert refused.status_code == 403 and error_code(refused) == "forbidden"

    resolved = await group.moderator.post(f"/api/v1/reports/{report['report_id']}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    still_open = (await group.moderator.get("/api/v1/reports")).json()["reports"]
    assert report["report_id"] not in {r["report_id"] for r in still_open}
    for client in (mod, a, b):
        await client.close()


async def test_report_refusals(server: RunningServer, http: httpx.AsyncClient) -> None:
    group = await group_with(server, http, members=2)
    alice, bob = group.members
    b = await WsClient.connect(server.ws_url, bob.token)
    await b.join(group.room_id)
    said = await b.say(group.room_id, "hello")
    mine = await b.say(group.room_id, "mine")
    await b.close()
    outsider = await participant(server, http)
    base = f"/api/v1/rooms/{group.room_id}/messages"
    cases = [
        (bob, f"{base}/{mine['seq']}/report", {}, 400),  # one's own message
        (alice, f"{base}/999999/report", {}, 404),
        (alice, f"{base}/0/report", {}, 400),
        (alice, f"{base}/abc/report", {}, 400),
        (alice, f"{base}/{said['seq']}/report", {"reason": "x" * 501}, 400),
        (alice, f"{base}/{said['seq']}/report", {"reason": 5}, 400),
        (outsider, f"{base}/{said['seq']}/report", {}, 403),
        (group.moderator, f"{base}/{said['seq']}/report", {}, 403),
    ]
    for actor, path, body, status in cases:
        response = await actor.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        error_code(response)
    worker = await staff(server, http, "peer_worker")
    other = await worker.post("/api/v1/reports/rep_nope/resolve")
    assert other.status_code == 404
