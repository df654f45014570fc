"""A real peerchat server (uvicorn on an ephemeral loopback port) with the front end mounted,
and a headless Chromium to drive it. Shared by the e2e tests and `python -m tests.e2e.screenshots`.

Run it alone for manual work on the front end:
    .venv/bin/python -m tests.e2e.live --port 8765
(creates staff w1 / s1 with password "password1234" and prints the URLs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from app.domain import accounts
from app.main import create_app
from app.settings import Settings
from app.storage.migrate import upgrade
from app.web import mount_frontend

CHROMIUM = os.environ.get("PEERCHAT_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_PASSWORD = "password1234"


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


def ensure_frontend(app: FastAPI) -> None:
    """Mount the front end unless create_app already did."""
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/worker" not in paths:
        mount_frontend(app)


def e2e_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "dev_mode": True,
        "secret_key": "e2e-secret-key-that-is-long-enough-0123456789abcdef",
        "address_rate_limits": "off",
        "model_enabled": False,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Staff:
    user_id: str
    username: str
    role: str
    password: str = STAFF_PASSWORD


@dataclass
class LiveServer:
    app: FastAPI
    base_url: str
    staff: dict[str, Staff] = field(default_factory=dict)

    async def add_staff(self, username: str, role: str, handle: str | None = None) -> Staff:
        user = await accounts.create_staff(
            self.app.state.domain,
            username=username,
            role=role,
            password=STAFF_PASSWORD,
            handle=handle,
        )
        self.staff[username] = Staff(user.id, username, role)
        return self.staff[username]


def _server_class() -> type[uvicorn.Server]:
    try:  # the project's server closes WebSockets with 1001 on shutdown, as the contract says
        from app.server import Server

        return Server
    except ImportError:
        return uvicorn.Server


@asynccontextmanager
async def live_server(
    port: int = 0, database_dir: Path | None = None, **overrides: Any
) -> AsyncIterator[LiveServer]:
    owned = database_dir is None
    folder = Path(tempfile.mkdtemp(prefix="peerchat-e2e-")) if owned else database_dir
    assert folder is not None
    url = f"sqlite+aiosqlite:///{folder / 'e2e.db'}"
    await asyncio.to_thread(upgrade, url)
    app = create_app(e2e_settings(url, **overrides))
    ensure_frontend(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound = sock.getsockname()[1]
    server_class = _server_class()
    config: dict[str, Any] = {"log_level": "warning", "lifespan": "on", "ws_max_size": 65536}
    if server_class is uvicorn.Server:
        server = uvicorn.Server(uvicorn.Config(app, **config))
    else:
        server = server_class(app, **config)  # type: ignore[call-arg]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        if task.done():
            task.result()
        raise RuntimeError("the e2e server did not start")
    try:
        yield LiveServer(app, f"http://127.0.0.1:{bound}")
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=15)
        finally:
            sock.close()
            if owned:
                shutil.rmtree(folder, ignore_errors=True)


async def _serve_forever(port: int) -> None:
    async with live_server(port=port) as live:
        await live.add_staff("w1", "peer_worker", handle="Sam")
        await live.add_staff("w2", "peer_worker", handle="Alex")
        await live.add_staff("s1", "supervisor", handle="Jo")
        print(f"participant: {live.base_url}/")
        print(f"worker:      {live.base_url}/worker      (w1 / {STAFF_PASSWORD})")
        print(f"supervisor:  {live.base_url}/supervisor  (s1 / {STAFF_PASSWORD})", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(_serve_forever(args.port))


if __name__ == "__main__":
    main()
