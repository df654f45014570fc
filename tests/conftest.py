"""Shared fixtures: real databases (SQLite always; PostgreSQL, required in CI) and servers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support import services
from tests.support.server import RunningServer, migrate, node_settings, serve

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
async def redis_url() -> str:
    await services.check_redis()
    return services.REDIS_URL


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Every storage and API test runs on both databases, each freshly migrated."""
    if request.param == "postgres":
        url = await services.create_postgres_database()
        await migrate(url)
        yield url
        await services.drop_postgres_database(url)
        return
    path = Path(tmp_path_factory.mktemp("sqlite")) / "peerchat.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    yield url


@pytest.fixture(scope="session")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    async with serve(node_settings(database_url)) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client
