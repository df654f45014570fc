"""What an outside red team broke, each closed and kept closed: a look at a waiting room ends
when a colleague claims it, disabled accounts and expired tokens lose their sockets, "delete my
data" takes every word, lock-outs are per address, sockets per identity are capped, staff reads
are audited, hostile notes are cleaned, and readiness notices a database that cannot write."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
import yaml  # type: ignore[import-untyped]  # no stubs needed to read a YAML file
from redis.asyncio import Redis
from sqlalchemy import select, update

from app.core.enums import Role
from app.core.events import ALERTS_CHANNEL
from app.core.identity import Principal
from app.privacy.deletion import REDACTED_REASON
from app.safety import alerts as alert_service
from app.settings import Settings, SettingsError
from app.storage.models import Alert, AuditEntry, Room
from tests.faults.helpers import peerchat_process
from tests.support import services
from tests.support.actors import PASSWORD, participant, staff, waiting_room
from tests.support.server import RunningServer, migrate, node_settings, serve
from tests.support.wsclient import WsClient


async def _audit(server: RunningServer, actor_id: str) -> list[AuditEntry]:
    async with server.domain.db.read() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.actor_id == actor_id))
        return list(rows.scalars())


# ----------------------------------------------------------------------------- 1. claims


async def test_a_claim_ends_other_workers_look_at_the_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person, note="can anyone talk")
    looker = await staff(server, http, "peer_worker")
    claimer = await staff(server, http, "peer_worker")
    sup = await staff(server, http, "supervisor")
    ws_person = await WsClient.connect(server.ws_url, person.token)
    ws_looker = await WsClient.connect(server.ws_url, looker.token)
    ws_sup = await WsClient.connect(server.ws_url, sup.token)
    try:
        await ws_person.join(room_id)
        await ws_looker.join(room_id)
        await ws_sup.join(room_id)
        claimed = await claimer.post(f"/api/v1/rooms/{room_id}/claim")
        assert claimed.status_code == 200, claimed.text
        left = await ws_looker.expect("left", room_id=room_id)
        assert left["reason"] == "access_revoked"
        ws_looker.backlog.clear()  # what came before the notice
        await ws_person.say(room_id, "thank you for picking this up")
        await ws_sup.expect("message", room_id=room_id, body="thank you for picking this up")
        later = await ws_looker.quiet(0.5)
        assert not [f for f in later if f.get("room_id") == room_id], later
        # Nor can the looker read it over HTTP any more.
        history = await looker.get(f"/api/v1/rooms/{room_id}/messages")
        assert history.status_code == 403
    finally:
        for ws in (ws_person, ws_looker, ws_sup):
            await ws.close()


async def test_a_claim_whose_news_was_lost_still_ends_the_look(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A node cut off from the bus never hears of the claim: its own re-check against storage
    ends the look within seconds anyway."""
    person = await participant(server, http)
    room_id = await waiting_room(person)
    looker = await staff(server, http, "peer_worker")
    claimer = await staff(server, http, "peer_worker")
    ws = await WsClient.connect(server.ws_url, looker.token)
    try:
        await ws.join(room_id)
        async with server.domain.db.write() as session:  # a claim made elsewhere, no news of it
            await session.execute(
                update(Room)
                .where(Room.id == room_id)
                .values(status="active", assigned_to=claimer.id)
            )
        left = await ws.expect("left", room_id=room_id, timeout=5)
        assert left["reason"] == "access_revoked"
    finally:
        await ws.close()


# ----------------------------------------------------------------------------- 3. accounts


async def _closed_with(ws: WsClient, timeout: float) -> tuple[int | None, float]:
    """The close code the server sent, and how long it took; (None, timeout) if it never did."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        while loop.time() - began < timeout:
            await asyncio.wait_for(ws.conn.recv(), timeout - (loop.time() - began))
    except websockets.ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), loop.time() - began
    except TimeoutError:
        pass
    return None, timeout


async def test_a_disabled_account_loses_its_sockets_and_its_requests(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    admin = await staff(server, http, "admin")
    sup = await staff(server, http, "supervisor")
    worker = await staff(server, http, "peer_worker")
    ws_sup = await WsClient.connect(server.ws_url, sup.token)
    ws_worker = await WsClient.connect(server.ws_url, worker.token)
    await ws_sup.send({"type": "subscribe", "channel": "alerts"})
    await ws_sup.expect("subscribed")
    try:
        listed = await admin.get("/api/v1/users")
        assert listed.status_code == 200
        assert {sup.id, worker.id} <= {u["user_id"] for u in listed.json()["users"]}
        assert (await sup.get("/api/v1/users")).status_code == 403  # admins only
        for target in (sup, worker):
            done = await admin.post(f"/api/v1/users/{target.id}/disable")
            assert done.status_code == 200 and done.json()["disabled"] is True, done.text
        for ws in (ws_sup, ws_worker):
            code, took = await _closed_with(ws, 5.0)
            assert code == 4401, (code, took)
        assert (await sup.get("/api/v1/alerts")).status_code == 401
        login = {"username": worker.username, "password": PASSWORD}
        assert (await http.post("/api/v1/auth/login", json=login)).status_code == 401
        enabled = await admin.post(f"/api/v1/users/{worker.id}/enable")
        assert enabled.status_code == 200 and enabled.json()["disabled"] is False
        assert (await http.post("/api/v1/auth/login", json=login)).status_code == 200
    finally:
        for ws in (ws_sup, ws_worker):
            await ws.close()


async def test_a_new_password_ends_earlier_sign_ins(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    admin = await staff(server, http, "admin")
    worker = await staff(server, http, "peer_worker")
    ws = await WsClient.connect(server.ws_url, worker.token)
    try:
        await asyncio.sleep(1.1)  # tokens carry whole seconds
        changed = await admin.post(
            f"/api/v1/users/{worker.id}/password", json={"password": "a brand new passphrase"}
        )
        assert changed.status_code == 200, changed.text
        short = await admin.post(f"/api/v1/users/{worker.id}/password", json={"password": "x"})
        assert short.status_code == 400
        code, _ = await _closed_with(ws, 5.0)
        assert code == 4401
        assert (await worker.get("/api/v1/queue")).status_code == 401
        login = {"username": worker.username, "password": "a brand new passphrase"}
        assert (await http.post("/api/v1/auth/login", json=login)).status_code == 200
    finally:
        await ws.close()


async def test_a_socket_closes_when_its_token_expires(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    principal = Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle)
    token = server.domain.signer.issue(principal, 2)
    ws = await WsClient.connect(server.ws_url, token)
    try:
        expires = time.time() + 2
        code, _ = await _closed_with(ws, 8.0)
        assert code == 4401
        assert time.time() - expires <= 5.0
    finally:
        await ws.close()


def test_users_commands(tmp_path: Path) -> None:
    env = {**os.environ, "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/u.db"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "users", *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    created = run("create", "--username", "sam", "--role", "peer_worker", "--password-stdin",
                  stdin="a long enough password\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = run("list", "--json")
    [account] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert account["username"] == "sam" and account["disabled"] is False
    assert account["handle"] != "sam"  # handles are generated, never the username
    assert run("disable", "--username", "sam").returncode == 0
    assert "disabled" in run("list").stdout
    assert run("enable", "--username", "sam").returncode == 0
    assert json.loads(run("list", "--json").stdout)["disabled"] is False
    assert run("set-password", "--username", "sam").returncode == 2  # no --password-stdin
    short = run("set-password", "--username", "sam", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    ok = run("set-password", "--username", "sam", "--password-stdin", stdin="another long one\n")
    assert ok.returncode == 0, ok.stderr
    missing = run("disable", "--username", "nobody")
    assert missing.returncode == 1 and "no such account" in missing.stderr


# ----------------------------------------------------------------------------- 5. handles


async def test_staff_handles_never_show_usernames(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    assert worker.username and worker.handle != worker.username
    assert worker.username not in worker.handle
    assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
    history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert history and all(worker.username not in m["body"] for m in history), history


# ----------------------------------------------------------------------------- 7. per identity


async def test_sockets_and_rates_are_per_identity(database_url: str) -> None:
    settings = node_settings(
        database_url, max_sockets_per_identity=3, messages_per_second=1.0, message_burst=5
    )
    async with serve(settings) as node, node.client() as http:
        person = await participant(node, http)
        room_id = await waiting_room(person)
        sockets = [await WsClient.connect(node.ws_url, person.token) for _ in range(3)]
        try:
            extra = await WsClient.connect(node.ws_url)
            await extra.send({"type": "auth", "token": person.token})
            refused = await extra.expect("error")
            assert refused["code"] == "too_many_connections"
            code, _ = await _closed_with(extra, 5.0)
            assert code == 1008
            for ws in sockets:
                await ws.join(room_id)
            acked = 0
            for i in range(15):  # five per socket, in one burst: the burst is the identity's
                ws = sockets[i % 3]
                await ws.send({"type": "send", "room_id": room_id, "client_msg_id": f"c{i}",
                               "body": f"burst {i}"})  # fmt: skip
            for ws in sockets:
                for frame in await ws.quiet(0.5):
                    acked += frame.get("type") == "ack"
            assert acked <= 6, acked  # the burst of 5, and at most one more refilled
        finally:
            for ws in sockets:
                await ws.close()
        # a closed socket frees its place
        again = await WsClient.connect(node.ws_url, person.token)
        await again.close()


# ----------------------------------------------------------------------------- 4. delete my data


async def _stream(redis: Redis, namespace: str) -> list[bytes]:
    entries = await redis.xrange(f"{namespace}:stream:{ALERTS_CHANNEL}")
    return [fields[b"e"] for _, fields in entries]


async def test_delete_my_data_leaves_no_words_in_alerts_rooms_or_redis(
    database_url: str, redis_url: str
) -> None:
    namespace = f"privacy-{uuid.uuid4().hex[:8]}"
    settings = node_settings(database_url, redis_url=redis_url, redis_namespace=namespace)
    redis = Redis.from_url(redis_url)
    try:
        async with serve(settings) as node, node.client() as http:
            person = await participant(node, http, language="pt-br", topics=["grief"])
            response = await person.post(
                "/api/v1/support-requests", json={"topic": "grief", "note": "my sister died"}
            )
            room_id = response.json()["room_id"]
            ws = await WsClient.connect(node.ws_url, person.token)
            await ws.join(room_id)
            ack = await ws.say(room_id, "i cannot go on without her")
            await ws.close()
            words = ("cannot go on", "sister died")
            raised = await alert_service.raise_or_attach(
                node.domain, room_id=room_id, severity="crisis",
                reason='Crisis language: "cannot go on"', excerpt="i cannot go on without her",
                message_seq=ack["seq"],
            )  # fmt: skip
            for _ in range(100):  # published from the queue, shortly
                if any(b"cannot go on" in e for e in await _stream(redis, namespace)):
                    break
                await asyncio.sleep(0.05)
            assert any(b"cannot go on" in e for e in await _stream(redis, namespace))

            assert (await http.delete("/api/v1/me", headers=person.auth)).status_code == 204
            async with node.domain.db.read() as session:
                alert = await session.get(Alert, raised.alert["alert_id"])
                room = await session.get(Room, room_id)
            assert alert is not None and room is not None
            assert alert.reason == REDACTED_REASON and alert.excerpt == ""
            assert (room.topic, room.language, room.note, room.close_notes) == (None,) * 4
            kept = b"".join(await _stream(redis, namespace))
            keys = [k async for k in redis.scan_iter(match=f"{namespace}:*")]
            dumped = kept + b"".join(keys)
            for word in words:
                assert word.encode() not in dumped, word
            assert raised.alert["alert_id"].encode() not in kept
    finally:
        await redis.aclose()


async def test_the_alert_stream_is_bounded_by_age(database_url: str, redis_url: str) -> None:
    namespace = f"age-{uuid.uuid4().hex[:8]}"
    settings = node_settings(
        database_url, redis_url=redis_url, redis_namespace=namespace,
        alert_stream_max_age_seconds=3600,
    )  # fmt: skip
    key = f"{namespace}:stream:{ALERTS_CHANNEL}"
    redis = Redis.from_url(redis_url)
    try:
        two_hours_ago = int((time.time() - 7200) * 1000)
        await redis.xadd(key, {"e": b"old"}, id=f"{two_hours_ago}-0")
        async with serve(settings) as node, node.client() as http:
            person = await participant(node, http)
            room_id = await waiting_room(person)
            await alert_service.raise_or_attach(
                node.domain, room_id=room_id, severity="warning", reason="a sharp decline"
            )
            for _ in range(100):
                if await redis.xlen(key) == 1:
                    break
                await asyncio.sleep(0.05)
        entries = await redis.xrange(key)
        assert [fields[b"e"] for _, fields in entries] != [b"old"]
        assert len(entries) == 1 and b"old" not in entries[0][1][b"e"]
    finally:
        await redis.delete(key)
        await redis.aclose()


# ----------------------------------------------------------------------------- 6. proxies


def test_the_compose_file_trusts_only_its_proxy() -> None:
    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    lb_address = compose["services"]["lb"]["networks"]["default"]["ipv4_address"]
    for name in ("node1", "node2", "migrate"):
        trusted = str(compose["services"][name]["environment"]["PEERCHAT_FORWARDED_ALLOW_IPS"])
        assert trusted == lb_address, (name, trusted)
    nginx = (root / "deploy" / "nginx.conf").read_text()
    assert "X-Forwarded-For $remote_addr;" in nginx  # the edge overwrites what clients claim


def test_trusting_every_proxy_is_refused_outside_dev_mode() -> None:
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        Settings(dev_mode=False, secret_key="s" * 40, forwarded_allow_ips="*")
    Settings(dev_mode=False, secret_key="s" * 40, forwarded_allow_ips="10.0.0.5")


async def test_a_client_cannot_choose_its_address(tmp_path: Path) -> None:
    """`peerchat serve` as deployed: a client that is not the proxy sends X-Forwarded-For with a
    new address each time, and the per-address limit still counts its real one."""
    env = {
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/xff.db",
        "PEERCHAT_ADDRESS_RATE_LIMITS": "on",
        "PEERCHAT_SESSIONS_PER_ADDRESS_PER_MINUTE": "3",
    }
    with peerchat_process(env, tmp_path) as node:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(
            base_url=node.base_url, transport=transport, timeout=10
        ) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            statuses = [
                (
                    await client.post(
                        "/api/v1/sessions/anonymous", headers={"X-Forwarded-For": f"10.9.8.{i}"}
                    )
                ).status_code
                for i in range(5)
            ]
    assert statuses == [201, 201, 201, 429, 429], statuses


# ----------------------------------------------------------------------------- 8. audit


async def test_every_staff_read_is_audited(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    sup = await staff(server, http, "supervisor")
    ws = await WsClient.connect(server.ws_url, worker.token)
    try:
        await ws.join(room_id)  # a look before claiming, live only (no after_seq)
        moderator = await staff(server, http, "peer_worker")
        group = (await moderator.post("/api/v1/groups", json={"name": "circle"})).json()
        await ws.join(group["room_id"])  # a peer worker joining a group
    finally:
        await ws.close()
    assert (await sup.get("/api/v1/alerts")).status_code == 200
    ws_sup = await WsClient.connect(server.ws_url, sup.token)
    try:
        await ws_sup.send({"type": "subscribe", "channel": "alerts"})
        await ws_sup.expect("subscribed")
    finally:
        await ws_sup.close()
    worker_rows = {(e.action, e.room_id) for e in await _audit(server, worker.id)}
    assert ("transcript_read", room_id) in worker_rows
    assert ("room_joined_as_moderator", group["room_id"]) in worker_rows
    assert ("transcript_read", group["room_id"]) in worker_rows
    sup_rows = [e for e in await _audit(server, sup.id) if e.action == "alerts_read"]
    assert {e.detail.get("via") for e in sup_rows} == {None, "ws"}


# ----------------------------------------------------------------------------- 11. hostile input


async def test_notes_are_cleaned_and_seqs_bounded(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    hostile = "please\u202e help\u200b me\x07 \u2066now\u2069"
    created = await person.post("/api/v1/support-requests", json={"note": hostile})
    assert created.status_code == 201
    room_id = created.json()["room_id"]
    first = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"][0]
    assert first["body"] == "please help me now"
    for query in ("after_seq=9223372036854775808", "after_seq=9223372036854775807",
                  f"after_seq={2**53 + 1}", "limit=9223372036854775807", "after_seq=-1"):  # fmt: skip
        response = await person.get(f"/api/v1/rooms/{room_id}/messages?{query}")
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["code"] == "bad_request"
    for big in (2**31, 2**53):  # allowed, and past every message on either database
        response = await person.get(f"/api/v1/rooms/{room_id}/messages?after_seq={big}")
        assert response.status_code == 200 and response.json()["messages"] == [], response.text
    ws = await WsClient.connect(server.ws_url, person.token)
    try:
        await ws.send({"type": "join", "room_id": room_id, "after_seq": 2**63})
        refused = await ws.expect("error")
        assert refused["code"] == "bad_request"
    finally:
        await ws.close()


# ----------------------------------------------------------------------------- 12. readiness


async def test_readiness_notices_a_database_that_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    settings = node_settings(url, readyz_write_timeout_seconds=0.5)
    async with serve(settings) as node, node.client() as http:
        assert (await http.get("/readyz")).status_code == 200
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            began = time.monotonic()
            locked = await http.get("/readyz")
            took = time.monotonic() - began
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert locked.status_code == 503, locked.text
        assert locked.json()["checks"]["database"] == "not_writable"
        assert took < 3.0, took
        again = await http.get("/readyz")
        assert again.status_code == 200, again.text


@pytest.mark.postgres
async def test_readiness_notices_a_read_only_postgres() -> None:
    url = await services.create_postgres_database()
    try:
        await migrate(url)
        name = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        finally:
            await admin.close()
        async with serve(node_settings(url)) as node, node.client() as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["database"] == "not_writable"
    finally:
        await services.drop_postgres_database(url)
