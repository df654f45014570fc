"""The SQLite batch thread keeps one connection open between transactions (checking one out of
the pool for each cost more than a lone message's statements), and a failed transaction never
leaves that connection in a state that the next one inherits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from app.storage.database import Database
from tests.support.server import migrate
from tests.support.storage import AUDIT_INSERT

COUNT = text("SELECT count(*) FROM audit_log WHERE action LIKE 'batch-%'")


def _same(conn: Connection) -> Connection:
    return conn


async def test_transactions_share_one_connection_and_a_failure_starts_afresh(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'peerchat.db'}"
    await migrate(url)
    db = Database(url)
    try:
        first = await db.run_batch(_same)
        assert await db.run_batch(_same) is first

        def fails(conn: Connection) -> None:
            conn.execute(AUDIT_INSERT, {"action": "batch-rolled-back"})
            raise RuntimeError("the work failed half way")

        with pytest.raises(RuntimeError):
            await db.run_batch(fails)

        def stores(conn: Connection) -> int:
            conn.execute(AUDIT_INSERT, {"action": "batch-stored"})
            return int(conn.execute(COUNT).scalar_one())

        # The half-done insert was rolled back, and the next transaction works on a new one.
        assert await db.run_batch(stores) == 1
        assert await db.run_batch(_same) is not first
        assert await db.change_marker() is not None  # no second connection needed from the pool
        async with db.read() as session:
            actions = (
                (
                    await session.execute(
                        text("SELECT action FROM audit_log WHERE action LIKE 'batch-%'")
                    )
                )
                .scalars()
                .all()
            )
        assert actions == ["batch-stored"]
    finally:
        await db.dispose()
