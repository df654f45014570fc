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
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.accounts import sign_in
from tests.support.server import migrate, node_settings, serve

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
        user = await sign_in.create_staff(
            self.app.state.domain,
            username=username,
            role=role,
            password=STAFF_PASSWORD,
            handle=handle,
        )
        self.staff[username] = Staff(user.id, username, role)
        return self.staff[username]


@asynccontextmanager
async def live_server(
    port: int = 0, database_dir: Path | None = None, **overrides: Any
) -> AsyncIterator[LiveServer]:
    owned = database_dir is None
    folder = Path(tempfile.mkdtemp(prefix="peerchat-e2e-")) if owned else database_dir
    assert folder is not None
    url = f"sqlite+aiosqlite:///{folder / 'e2e.db'}"
    await migrate(url)
    try:
        async with serve(node_settings(url, **overrides), port=port) as running:
            yield LiveServer(running.app, running.base_url)
    finally:
        if owned:
            shutil.rmtree(folder, ignore_errors=True)


async def wait_ready(base_url: str, timeout: float) -> None:
    """Until GET /readyz answers 200 (database, bus and model ready)."""
    deadline = time.monotonic() + timeout
    last = ""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        while time.monotonic() < deadline:
            response = await http.get("/readyz")
            if response.status_code == 200:
                return
            last = response.text
            await asyncio.sleep(0.25)
    raise TimeoutError(f"not ready within {timeout:.0f} s: {last}")


class ModelServer:
    """A live server with the real model, started in a background task (the model takes from
    5 to 30 s to load) and awaited with wait(); its staff are kim (peer worker) and ria
    (supervisor)."""

    def __init__(self, ready_timeout: float = 150, **overrides: Any) -> None:
        self.overrides = overrides
        self.ready_timeout = ready_timeout
        self._ready: asyncio.Future[LiveServer] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name="e2e-model-server")

    async def _run(self) -> None:
        assert self._ready is not None
        try:
            async with live_server(**self.overrides) as server:
                await wait_ready(server.base_url, self.ready_timeout)
                await server.add_staff("kim", "peer_worker", handle="Kim")
                await server.add_staff("ria", "supervisor", handle="Ria")
                self._ready.set_result(server)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(
                    exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                )
            if not isinstance(exc, Exception):
                raise

    async def wait(self) -> LiveServer:
        assert self._ready is not None, "start() first"
        return await asyncio.wait_for(asyncio.shield(self._ready), self.ready_timeout + 60)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=30)


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
