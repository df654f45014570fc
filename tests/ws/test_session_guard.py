"""The session guard asks storage only when its answer may have changed, and still closes a
revoked sign-in with 4401 on the next round: a disable made through the API, or written to the
database by another process (the command line), with no bus news at all."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from app.ws.node import WsNode
from tests.support.actors import claimed_room, staff
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


def _node(server: RunningServer) -> WsNode:
    node: WsNode = server.app.state.ws
    return node


async def _closed_code(ws: WsClient, timeout: float = 5.0) -> int | None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ws.recv(timeout=timeout)
    return closed.value.rcvd.code if closed.value.rcvd else None


def _sqlite_path(server: RunningServer) -> str:
    url = server.domain.settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("the change marker is SQLite's; PostgreSQL asks storage every round")
    return url.split("///", 1)[1]


async def test_the_change_marker_moves_with_every_commit(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    path = _sqlite_path(server)
    db = server.domain.db
    someone = await staff(server, http, "supervisor")
    renamed = iter(range(100))

    def touch() -> Any:  # a write that changes a row (one that changes nothing commits nothing)
        return text("UPDATE users SET handle = :h WHERE id = :id").bindparams(
            h=f"renamed-{next(renamed)}", id=someone.id
        )

    first = await db.change_marker()
    assert first is not None and await db.change_marker() == first  # nothing committed
    async with db.write() as session:  # this process, the async engine
        await session.execute(touch())
    second = await db.change_marker()
    assert second != first
    await db.run_batch(lambda conn: conn.execute(touch()))  # the batch connection itself
    third = await db.change_marker()
    assert third != second

    def elsewhere() -> None:  # another process's connection (the command line)
        with sqlite3.connect(path) as other:
            other.execute("UPDATE users SET handle = 'elsewhere' WHERE id = ?", (someone.id,))

    await asyncio.to_thread(elsewhere)
    assert await db.change_marker() != third


async def test_idle_rounds_skip_storage_and_a_revocation_still_closes(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    _sqlite_path(server)
    guard = _node(server).sessions
    _, worker, _ = await claimed_room(server, http)
    admin = await staff(server, http, "admin")
    ws = await WsClient.connect(server.ws_url, worker.token)
    await guard.check()  # a new staff socket: storage asked
    asked = guard.full_checks
    await guard.check()
    await guard.check()
    assert guard.full_checks == asked  # nothing committed, the same sockets: no query
    disabled = await admin.post(f"/api/v1/users/{worker.id}/disable")
    assert disabled.status_code == 200, disabled.text
    await guard.check()
    assert guard.full_checks > asked
    assert await _closed_code(ws) == 4401


async def test_a_disable_written_by_another_process_closes_the_socket(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """No API call, no event: only the database file changed. The guard's own timed rounds
    (every `PEERCHAT_SESSION_CHECK_SECONDS`, 2 s) must notice within 5 s."""
    path = _sqlite_path(server)
    sup = await staff(server, http, "supervisor")
    ws = await WsClient.connect(server.ws_url, sup.token)
    await asyncio.sleep(2.5)  # at least one idle round has covered this socket

    def disable() -> None:
        with sqlite3.connect(path) as other:
            other.execute("UPDATE users SET disabled = 1 WHERE id = ?", (sup.id,))

    await asyncio.to_thread(disable)
    assert await _closed_code(ws, timeout=5.0) == 4401
