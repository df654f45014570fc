"""A peerchat node with SMS on, and the stand-in provider beside it: two real uvicorn servers
on loopback, talking real HTTP both ways (the stand-in signs its webhooks as Twilio does)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.server import Server
from app.sms.standin import Standin, StandinConfig, create_standin
from tests.support import services
from tests.support.processes import free_port
from tests.support.server import RunningServer, migrate, node_settings, serve

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "standin-auth-token-for-tests-0123"
SERVICE_NUMBER = "+15005550006"


@dataclass
class Provider:
    base_url: str
    state: Standin

    def to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.state.sent if m["to"] == number]


@asynccontextmanager
async def standin(service_url: str, **config: Any) -> AsyncIterator[Provider]:
    app = create_standin(
        StandinConfig(ACCOUNT_SID, AUTH_TOKEN, service_url, SERVICE_NUMBER, **config)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = Server(app, log_level="warning", lifespan="on")
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Provider(f"http://127.0.0.1:{port}", app.state.standin)
    finally:
        for pending in list(app.state.standin.tasks):
            pending.cancel()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()


def sms_settings(database_url: str, port: int, provider_url: str, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "sms_provider": "twilio",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base": provider_url,
        "sms_number": SERVICE_NUMBER,
        "public_url": f"http://127.0.0.1:{port}",
        "sms_poll_seconds": 0.2,
        "sms_retry_base_seconds": 0.2,
        "sms_send_timeout_seconds": 2.0,
        "sms_lease_seconds": 3.0,
    }
    values.update(extra)
    return node_settings(database_url, **values)


@dataclass
class SmsNode:
    node: RunningServer
    provider: Provider
    http: httpx.AsyncClient


@asynccontextmanager
async def sms_node(database_url: str, **extra: Any) -> AsyncIterator[SmsNode]:
    port = free_port()
    async with standin(f"http://127.0.0.1:{port}") as provider:
        settings = sms_settings(database_url, port, provider.base_url, **extra)
        async with serve(settings, port=port) as node, node.client() as http:
            yield SmsNode(node, provider, http)


@pytest.fixture
async def sqlite_url(tmp_path: Any) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/peerchat.db"
    await migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """A new, migrated database for this test alone, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/peerchat.db"
        await migrate(url)
        yield url
        return
    url = await services.create_postgres_database()
    await migrate(url)
    yield url
    await services.drop_postgres_database(url)


async def eventually(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll until check() returns something truthy (awaiting it if it is a coroutine)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def sms_rooms(node: RunningServer) -> list[Any]:
    from sqlalchemy import select

    from app.storage.models import Room

    async with node.domain.db.read() as session:
        found = await session.execute(
            select(Room).where(Room.channel == "sms").order_by(Room.created_at)
        )
        return list(found.scalars())


async def texted_and_claimed(sms: SmsNode, phone: str, body: str = "hello") -> tuple[Any, str]:
    """A phone texts; a new peer worker claims the request. Returns (worker, room_id)."""
    from tests.support.actors import staff

    before = {r.id for r in await sms_rooms(sms.node)}
    status, _, _ = await sms.provider.state.deliver_inbound(sender=phone, body=body)
    assert status == 200

    async def new_room() -> str | None:
        fresh = [r.id for r in await sms_rooms(sms.node) if r.id not in before]
        return fresh[0] if fresh else None

    room_id: str = await eventually(new_room, what="the support request")
    worker = await staff(sms.node, sms.http, "peer_worker")
    claimed = await worker.post(f"/api/v1/rooms/{room_id}/claim")
    assert claimed.status_code == 200, claimed.text
    return worker, room_id


def bodies(provider: Provider, phone: str) -> list[str]:
    return [m["body"] for m in provider.to(phone)]
