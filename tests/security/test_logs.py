"""Logs never hold message bodies, tokens or passwords, even at DEBUG: a real `peerchat serve`
subprocess is driven through a conversation and everything it printed is searched."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import websockets

from tests.support.processes import free_port
from tests.support.wsclient import WsClient

BODY = f"zebra-umbrella-{uuid.uuid4().hex[:8]}"
NOTE = f"quince-lantern-{uuid.uuid4().hex[:8]}"
WRONG_PASSWORD = f"wrong-walrus-{uuid.uuid4().hex[:8]}"
RIGHT_PASSWORD = f"right-narwhal-{uuid.uuid4().hex[:8]}"


async def test_debug_logs_hold_no_secrets(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/logs.db",
        "PEERCHAT_LOG_LEVEL": "DEBUG",
        "PEERCHAT_MODEL_ENABLED": "false",
        "PEERCHAT_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
    }
    cli = [sys.executable, "-m", "app.cli"]
    created = await asyncio.to_thread(
        subprocess.run,
        [*cli, "users", "create", "--username", "sam", "--role", "peer_worker", "--password-stdin"],
        input=RIGHT_PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=log_file, stderr=log_file
        )
        try:
            tokens = await _converse(f"http://127.0.0.1:{port}")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
    output = log_path.read_text(errors="replace")
    assert "DEBUG" in output and "GET /api/v1/me" in output  # it did log, and in detail
    for secret in (BODY, NOTE, WRONG_PASSWORD, RIGHT_PASSWORD, *tokens):
        assert secret not in output, f"the log holds {secret[:24]}..."
    for token in tokens:  # nor any recognisable piece of one (a truncated frame dump shows ends)
        for part in token.split("."):
            assert part[-16:] not in output and part[:40] not in output


async def _converse(base: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "peerchat serve did not start"
            await asyncio.sleep(0.2)
        me = (await http.post("/api/v1/sessions/anonymous", json={})).json()
        auth = {"Authorization": f"Bearer {me['token']}"}
        room = await http.post("/api/v1/support-requests", json={"note": NOTE}, headers=auth)
        room_id = room.json()["room_id"]
        bad = await http.post(
            "/api/v1/auth/login", json={"username": "sam", "password": WRONG_PASSWORD}
        )
        assert bad.status_code == 401
        good = await http.post(
            "/api/v1/auth/login", json={"username": "sam", "password": RIGHT_PASSWORD}
        )
        assert good.status_code == 200
        worker = good.json()["token"]
        assert (
            await http.post(
                f"/api/v1/rooms/{room_id}/claim", headers={"Authorization": f"Bearer {worker}"}
            )
        ).status_code == 200
        ws_url = base.replace("http", "ws") + "/ws"
        p = await WsClient.connect(ws_url, me["token"])
        w = await WsClient.connect(ws_url, worker)
        await p.join(room_id)
        await w.join(room_id, after_seq=0)
        ack = await p.say(room_id, BODY)
        await w.expect("message", seq=ack["seq"])
        await p.send({"type": "send", "room_id": room_id, "client_msg_id": "x", "body": 5})
        await p.expect("error")
        # A token sent where it must not go (a query string) must not be echoed either.
        await http.get(f"/api/v1/me?token={me['token']}", headers=auth)
        await p.close()
        await w.close()
        return [me["token"], worker]


async def test_access_lines_name_no_address_and_no_room(tmp_path: Path) -> None:
    """Addresses are never stored: access and WebSocket lines lose the client's address, and
    paths lose their ids, so no line ties an address or a room to a cry for help or a deletion."""
    port = free_port()
    env = {
        **os.environ,
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/access.db",
        "PEERCHAT_LOG_LEVEL": "INFO",
        "PEERCHAT_MODEL_ENABLED": "false",
        "PEERCHAT_SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
    }
    client_address = "127.0.0.9"
    log_path = tmp_path / "access.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env, stdout=log_file, stderr=log_file,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            transport = httpx.AsyncHTTPTransport(local_address=client_address)
            async with httpx.AsyncClient(base_url=base, transport=transport, timeout=30) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "peerchat serve did not start"
                    await asyncio.sleep(0.2)
                me = (await http.post("/api/v1/sessions/anonymous", json={})).json()
                auth = {"Authorization": f"Bearer {me['token']}"}
                room = await http.post("/api/v1/support-requests", json={}, headers=auth)
                room_id = room.json()["room_id"]
                await http.post(f"/api/v1/rooms/{room_id}/help", headers=auth)
                ws = await websockets.connect(
                    base.replace("http", "ws") + "/ws", local_addr=(client_address, 0)
                )
                await ws.close()
                assert (await http.delete("/api/v1/me", headers=auth)).status_code == 204
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
    output = log_path.read_text(errors="replace")
    assert "DELETE /api/v1/me" in output and "/help" in output  # it did log the requests
    assert "WebSocket /ws" in output
    assert client_address not in output
    assert room_id not in output and me["participant_id"] not in output
