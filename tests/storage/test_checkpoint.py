"""SQLite's write-ahead log is copied into the database file off the write path: commits no
longer checkpoint (they would hold the write lock while copying and syncing), a thread of its
own does, so the file on disk keeps up and the log does not grow without end."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import Connection

from app.storage.database import Database
from tests.support.server import migrate
from tests.support.storage import AUDIT_INSERT


def _rows_in_main_file(db_file: Path, copy: Path) -> int:
    """Rows visible in the database file alone, without its log (copied so as not to touch
    the live one)."""
    shutil.copyfile(db_file, copy)
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    finally:
        conn.close()


async def test_commits_reach_the_database_file_without_an_automatic_checkpoint(
    tmp_path: Path,
) -> None:
    db_file = tmp_path / "peerchat.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    await migrate(url)
    db = Database(url)
    try:

        def write(conn: Connection) -> int:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
            for _ in range(200):
                conn.execute(AUDIT_INSERT, {"action": "test"})
            return 200

        await db.run_batch(write)
        assert (tmp_path / "peerchat.db-wal").stat().st_size > 0
        deadline = asyncio.get_running_loop().time() + 10
        seen = 0
        while asyncio.get_running_loop().time() < deadline:
            seen = _rows_in_main_file(db_file, tmp_path / "copy.db")
            if seen == 200:
                break
            await asyncio.sleep(0.2)
        assert seen == 200, "the checkpointer never copied the log into the database file"
    finally:
        await db.dispose()
