"""The phone number is personal data: never in the database in clear, never in a log, gone
once nothing more is to be sent to it, and gone with the participant's data."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

import app.sms.models  # noqa: F401  (the SMS tables in the metadata)
from app.core.enums import Role
from app.core.identity import Principal
from app.privacy import deletion
from app.sms.models import SmsContact, SmsOutbox
from app.storage.models import Base
from tests.sms.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SERVICE_NUMBER,
    bodies,
    eventually,
    sms_node,
    standin,
    texted_and_claimed,
)
from tests.support.processes import free_port, wait_port
from tests.support.wsclient import WsClient

PHONE = "+1 (555) 013-4679"
SPELLINGS = ("+15550134679", "15550134679", "5550134679", "555-013-4679", "013-4679", "0134679")


async def dump(node: Any) -> str:
    """Every row of every table, as text."""
    out: list[str] = []
    async with node.domain.db.read() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            out.extend(f"{table.name}: {tuple(row)!r}" for row in rows)
    return "\n".join(out)


def assert_no_number(haystack: str | bytes, where: str) -> None:
    for spelling in SPELLINGS:
        needle: Any = spelling.encode() if isinstance(haystack, bytes) else spelling
        assert needle not in haystack, f"{spelling} found in {where}"
    plain_hash = hashlib.sha256(b"+15550134679").hexdigest()
    needle = plain_hash.encode() if isinstance(haystack, bytes) else plain_hash
    assert needle not in haystack, f"an unkeyed hash of the number in {where}"


def sqlite_bytes(url: str) -> bytes:
    path = Path(url.split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_no_number_in_the_database_and_gone_when_the_conversation_is(
    fresh_db: str,
) -> None:
    async with sms_node(fresh_db) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE, "my number is private, right?")
        sent_to = {m["to"] for m in sms.provider.state.sent}
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        await w.say(room_id, "Yes. We only keep what we need to text you back.")
        await eventually(lambda: len(bodies(sms.provider, "+15550134679")) >= 3)
        assert sent_to <= {"+15550134679"}  # sent to the number, normalised
        while_open = await dump(sms.node)
        assert_no_number(while_open, "the database while the conversation is open")
        assert "smsc_" in while_open  # the dump does include the SMS tables
        async with sms.node.domain.db.read() as session:
            contact = (await session.execute(select(SmsContact))).scalar_one()
        assert contact.number_sealed and contact.number_hash
        assert (await worker.post(f"/api/v1/rooms/{room_id}/close", json={})).status_code == 200

        async def forgotten() -> bool:
            async with sms.node.domain.db.read() as session:
                found = (await session.execute(select(SmsContact))).scalar_one()
            return found.number_sealed is None

        await eventually(forgotten, timeout=20, what="the number erased")
        assert_no_number(await dump(sms.node), "the database after the conversation")
        await w.close()
    if fresh_db.startswith("sqlite"):
        assert_no_number(sqlite_bytes(fresh_db), "the database file")


async def test_deleting_the_participant_deletes_the_number(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        sms.provider.state.plan = [503] * 1000  # something still waits in the outbox
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        await w.say(room_id, "a reply that will never leave")
        async with sms.node.domain.db.read() as session:
            contact = (await session.execute(select(SmsContact))).scalar_one()
        assert contact.participant_id
        who = Principal(id=contact.participant_id, role=Role.PARTICIPANT, handle="x")
        await deletion.delete_participant(sms.node.domain, participant=who)
        async with sms.node.domain.db.read() as session:
            assert (await session.execute(select(SmsContact))).first() is None
            waiting = list((await session.execute(select(SmsOutbox))).scalars())
        left = [(r.dedupe_key, r.status, r.body) for r in waiting if r.body is not None]
        assert waiting and not left, left
        assert all(row.status != "pending" for row in waiting)
        await w.close()


async def test_logs_hold_no_number_even_at_debug(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/logs.db",
        "PEERCHAT_LOG_LEVEL": "DEBUG",
        "PEERCHAT_MODEL_ENABLED": "false",
        "PEERCHAT_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
        "PEERCHAT_SMS_PROVIDER": "twilio",
        "PEERCHAT_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "PEERCHAT_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PEERCHAT_SMS_NUMBER": SERVICE_NUMBER,
        "PEERCHAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PEERCHAT_SMS_POLL_SECONDS": "0.2",
        "PEERCHAT_SMS_RETRY_BASE_SECONDS": "0.2",
    }
    cli = [sys.executable, "-m", "app.cli"]
    password = "a-long-enough-password"
    created = await asyncio.to_thread(
        subprocess.run,
        [*cli, "users", "create", "--username", "sam", "--role", "peer_worker", "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    log_path = tmp_path / "serve.log"
    async with standin(f"http://127.0.0.1:{port}") as provider:
        env["PEERCHAT_TWILIO_API_BASE"] = provider.base_url
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                [*cli, "serve", "--port", str(port)], env=env, stdout=log_file, stderr=log_file
            )
            try:
                await wait_port(port, timeout=60)
                await _converse(f"http://127.0.0.1:{port}", provider, password)
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    logged = log_path.read_text()
    assert "POST /sms/twilio/inbound" in logged  # the access log was captured
    assert "sms outbox" in logged  # and the retries were logged
    assert_no_number(logged, "the logs")


async def _converse(base: str, provider: Any, password: str) -> None:
    state = provider.state
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(200):
            if (await http.get("/healthz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        await state.deliver_inbound(sender=PHONE, body="hello from my phone")
        await state.deliver_inbound(sender=PHONE, body="bad", sign=False)  # refused, logged
        token = (
            await http.post("/api/v1/auth/login", json={"username": "sam", "password": password})
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}

        async def waiting() -> str | None:
            rooms = (await http.get("/api/v1/queue", headers=auth)).json()["rooms"]
            return rooms[0]["room_id"] if rooms else None

        room_id = await eventually(waiting, what="the request")
        assert (await http.post(f"/api/v1/rooms/{room_id}/claim", headers=auth)).status_code == 200
        state.plan = [500, "hang"]  # a failure and a lost answer: both logged
        state.hang_seconds = 12.0
        w = await WsClient.connect(base.replace("http", "ws") + "/ws", token)
        await w.join(room_id)
        await w.say(room_id, "hi, I'm Sam")
        await eventually(
            lambda: any("hi, I'm Sam" in b for b in bodies(provider, "+15550134679")),
            timeout=40,
        )
        await state.deliver_inbound(sender=PHONE, body="HELP")
        await state.deliver_inbound(sender=PHONE, body="STOP")
        await asyncio.sleep(1.0)
        await w.close()
