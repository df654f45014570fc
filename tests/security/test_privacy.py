"""Privacy: 'delete my data', the retention purge and its schedule, and audited staff reads."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import select, update

from app.core.clock import new_id, utcnow
from app.privacy import retention
from app.privacy.deletion import REDACTED_BODY
from app.storage.models import Alert, AuditEntry, Membership, Message, Participant, Room
from tests.security.helpers import group_with
from tests.support.actors import error_code, participant, staff, waiting_room
from tests.support.server import RunningServer, migrate, node_settings, serve
from tests.support.wsclient import WsClient


async def _audit(server: RunningServer, action: str) -> list[AuditEntry]:
    async with server.domain.db.read() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.scalars())


async def test_delete_my_data(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person, note="my first words")
    worker = await staff(server, http, "peer_worker")
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    group = await group_with(server, http, members=1)
    assert (await person.post(f"/api/v1/groups/{group.room_id}/join")).status_code == 200
    p = await WsClient.connect(server.ws_url, person.token)
    await p.join(room_id)
    await p.join(group.room_id)
    await p.say(room_id, "something very private")
    await p.say(group.room_id, "something said in the group")
    w = await WsClient.connect(server.ws_url, worker.token)
    joined = await w.join(room_id)

    deleted = await http.delete("/api/v1/me", headers=person.auth)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""

    # The conversation ends for the worker, live, with a notice; the seqs stay gapless.
    notice = await w.expect("message", room_id=room_id, seq=joined["last_seq"] + 1)
    assert notice["sender"]["role"] == "system"
    await w.expect("room_closed", room_id=room_id)
    history = (await worker.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    theirs = [m for m in history if m["sender"]["id"] == person.id]
    assert len(theirs) == 2 and all(m["body"] == REDACTED_BODY for m in theirs)
    assert "private" not in json.dumps(history) and "first words" not in json.dumps(history)

    # The token stops working at once, on HTTP and on a new socket.
    again = await person.get("/api/v1/me")
    assert again.status_code == 401 and error_code(again) == "unauthorized"
    refused = await WsClient.connect(server.ws_url)
    await refused.send({"type": "auth", "token": person.token})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await refused.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    async with server.domain.db.read() as session:
        assert await session.get(Participant, person.id) is None
        members = await session.execute(select(Membership).where(Membership.member_id == person.id))
        assert members.first() is None
        rows = await session.execute(select(Message).where(Message.sender_id == person.id))
        for row in rows.scalars():
            assert row.body == REDACTED_BODY and row.risk_level is None and row.emotions is None
    entries = [
        e for e in await _audit(server, "participant_data_deleted") if e.target_id == person.id
    ]
    assert len(entries) == 1 and entries[0].detail["redacted_messages"] == 3
    await p.close()
    await w.close()


async def test_delete_my_data_is_for_participants(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    response = await http.delete("/api/v1/me", headers=worker.auth)
    assert response.status_code == 403 and error_code(response) == "forbidden"
    anonymous = await http.delete("/api/v1/me")
    assert anonymous.status_code == 401 and error_code(anonymous) == "unauthorized"


async def _age(server: RunningServer, room_id: str, days: int, *, close: bool) -> None:
    then = utcnow() - timedelta(days=days)
    async with server.domain.db.write() as session:
        await session.execute(
            update(Message).where(Message.room_id == room_id).values(sent_at=then)
        )
        if close:
            await session.execute(
                update(Room).where(Room.id == room_id).values(closed_at=then, status="closed")
            )


async def test_retention_purges_only_closed_rooms(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    supervisor = await staff(server, http, "supervisor")
    rooms: dict[str, str] = {}
    for name in ("old_closed", "old_open", "mixed_closed"):
        person = await participant(server, http)
        rooms[name] = await waiting_room(person, note=f"{name} words")
        if name != "old_open":
            assert (await worker.post(f"/api/v1/rooms/{rooms[name]}/claim")).status_code == 200
            closed = await worker.post(f"/api/v1/rooms/{rooms[name]}/close", json={})
            assert closed.status_code == 200
    old_alert = Alert(
        id=new_id("al"), room_id=rooms["old_open"], severity="warning", status="resolved",
        reason="test", excerpt="", created_at=utcnow() - timedelta(days=41),
        resolved_at=utcnow() - timedelta(days=40), attached_count=0,
    )  # fmt: skip
    async with server.domain.db.write() as session:
        session.add(old_alert)
    await _age(server, rooms["old_closed"], 40, close=True)
    await _age(server, rooms["old_open"], 40, close=False)
    await _age(server, rooms["mixed_closed"], 40, close=True)
    async with server.domain.db.write() as session:  # one recent message keeps this room
        await session.execute(
            update(Message)
            .where(Message.room_id == rooms["mixed_closed"], Message.seq == 1)
            .values(sent_at=utcnow())
        )
    open_before = (await supervisor.get(f"/api/v1/rooms/{rooms['old_open']}/messages")).json()

    assert (await retention.purge(server.domain, days=0)).messages == 0  # 0 keeps everything
    done = await retention.purge(server.domain, days=30)
    assert done.messages >= 4 and done.rooms >= 1 and done.memberships >= 2

    async with server.domain.db.read() as session:
        assert await session.get(Room, rooms["old_closed"]) is None
        assert await session.get(Alert, old_alert.id) is None
        kept = await session.get(Room, rooms["mixed_closed"])
        assert kept is not None and kept.last_seq == 3  # the numbering never restarts
        left = await session.execute(select(Message.seq).where(Message.room_id == kept.id))
        assert list(left.scalars()) == [1]
    open_after = (await supervisor.get(f"/api/v1/rooms/{rooms['old_open']}/messages")).json()
    assert open_after == open_before  # open rooms keep their gapless history
    entries = await _audit(server, "retention_purge")
    assert entries and entries[-1].detail["days"] == 30 and entries[-1].actor_id == "system"


async def test_the_retention_job_runs_in_the_server(database_url: str) -> None:
    settings = node_settings(database_url, retention_days=365)
    async with serve(settings) as node:
        for _ in range(100):
            if await _audit(node, "retention_purge"):
                break
            await asyncio.sleep(0.05)
        assert await _audit(node, "retention_purge")


async def test_retention_cli(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/retention.db"
    await migrate(url)
    env = {**os.environ, "PEERCHAT_DATABASE_URL": url}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "retention", "run", *args],
            capture_output=True, text=True, env={**env, **extra}, timeout=120,
        )  # fmt: skip

    off = await asyncio.to_thread(run)
    assert off.returncode == 0 and "retention is off" in off.stdout
    on = await asyncio.to_thread(run, PEERCHAT_RETENTION_DAYS="30")
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout.strip().splitlines()[-1])["days"] == 30


async def test_staff_replays_over_ws_are_audited(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person, note="hello")
    supervisor = await staff(server, http, "supervisor")
    s = await WsClient.connect(server.ws_url, supervisor.token)
    await s.join(room_id, after_seq=0)
    await s.close()
    reads = [e for e in await _audit(server, "transcript_read") if e.room_id == room_id]
    assert any(e.actor_id == supervisor.id and e.detail.get("via") == "ws" for e in reads)
