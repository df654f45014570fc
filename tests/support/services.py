"""Real PostgreSQL and Redis for tests: required in CI, a visible skip elsewhere."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ADMIN_URL = os.environ.get(
    "PEERCHAT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PEERCHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(what: str, why: BaseException | str) -> None:
    """In CI a missing service fails the run; elsewhere the test is skipped, saying why."""
    message = f"{what} is not reachable ({why}); start it or unset the tests that need it"
    if IN_CI:
        pytest.fail(f"CI requires {message}", pytrace=False)
    pytest.skip(message)


async def _postgres_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_postgres_database() -> str:
    """A fresh database per test session on the shared server, so parallel runs don't clash."""
    import asyncpg

    admin = await _postgres_dsn(POSTGRES_ADMIN_URL)
    name = f"peerchat_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncio.wait_for(asyncpg.connect(admin), timeout=5)
    except Exception as exc:
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, exc)
        raise
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(await _postgres_dsn(POSTGRES_ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def check_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        pong: Any = client.ping()  # typed as maybe-sync; the asyncio client's is a coroutine
        await asyncio.wait_for(pong, timeout=3)
    except Exception as exc:
        unavailable("Redis at " + REDIS_URL, exc)
    finally:
        await client.aclose()
