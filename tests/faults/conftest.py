"""Fault tests share one fresh PostgreSQL database on the shared server (per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import services
from tests.support.server import migrate


@pytest.fixture(scope="module")
async def faults_db() -> AsyncIterator[str]:
    url = await services.create_postgres_database()
    await migrate(url)
    yield url
    await services.drop_postgres_database(url)
