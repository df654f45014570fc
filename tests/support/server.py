"""A real uvicorn server on an ephemeral loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.context import Domain
from app.main import create_app
from app.server import Server
from app.settings import Settings
from app.storage.migrate import upgrade


def node_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "dev_mode": True,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "address_rate_limits": "off",
        "model_enabled": False,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class RunningServer:
    app: FastAPI
    base_url: str
    ws_url: str
    server: Server

    @property
    def domain(self) -> Domain:
        domain: Domain = self.app.state.domain
        return domain

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30)


async def migrate(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)


@asynccontextmanager
async def serve(settings: Settings, *, port: int = 0) -> AsyncIterator[RunningServer]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = Server(app, log_level="warning", lifespan="on", ws_max_size=65536)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        if task.done():
            task.result()
        raise RuntimeError("server did not start")
    try:
        yield RunningServer(app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()
