"""Engine, sessions and transactions for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_MS = 30_000
"""How long a SQLite write waits for another process's write lock before it fails."""
CHECKPOINT_SECONDS = 1.0
"""How often the checkpointer copies the write-ahead log into the database file (SQLite)."""
T = TypeVar("T")
log = logging.getLogger(__name__)


class Database:
    """One engine per process.

    SQLite allows one writer at a time and fails a deferred transaction that tries to upgrade
    to a write lock while another connection writes. Write transactions in this process are
    therefore serialised with an asyncio lock on SQLite; readers are not (WAL mode). PostgreSQL
    needs no such lock: row locks in the statements themselves do the work.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Parameters stay out of error messages: they hold message bodies, which never reach logs.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._batch_engine: Engine | None = None
        self._batch_thread: ThreadPoolExecutor | None = None
        self._batch_conn: Connection | None = None
        """The batch thread's own connection, kept open between transactions: checking one out
        of the pool and back for every transaction cost more than the statements of a lone
        message. Touched on the batch thread only."""
        self._checkpointer: Checkpointer | None = None
        self._batch_commits = 0
        """Transactions committed through the batch connection: SQLite's data_version, read
        on that connection, counts only the other connections' commits."""
        url_info = make_url(url)
        if self.is_sqlite and url_info.database not in (None, "", ":memory:"):
            # aiosqlite runs every DBAPI call (cursor, execute, fetch, close) as its own trip to
            # its thread and back through the event loop's self-pipe: about 20 round trips for
            # one message's transaction. Batches run whole in one thread of their own instead.
            self._batch_engine = create_engine(
                url_info.set(drivername="sqlite+pysqlite"),
                hide_parameters=True,
                connect_args={"timeout": 30},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self._batch_engine, "connect", _sqlite_pragmas)
            self._batch_thread = ThreadPoolExecutor(1, thread_name_prefix="db-batch")
            self._checkpointer = Checkpointer(url_info.database or "")
            self._checkpointer.start()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any exception."""
        if self._write_lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self.sessions() as session, session.begin():
            yield session

    async def run_batch(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction (commit on return, roll back on exception).

        `work` is plain synchronous code: on SQLite it runs whole on a thread of its own (one
        hop there and back per transaction, however many statements), under the same write
        lock as `write`; on PostgreSQL (and in-memory SQLite) it runs on the async engine, the
        driver's awaits bridged as SQLAlchemy's `run_sync` does."""
        if self._batch_thread is None or self._batch_engine is None:
            async with self._serialised(), self.engine.begin() as conn:
                return await conn.run_sync(work)

        def transaction() -> T:
            with self._batch_connection() as conn, conn.begin():
                return work(conn)

        loop = asyncio.get_running_loop()
        async with self._serialised():
            try:
                return await loop.run_in_executor(self._batch_thread, transaction)
            finally:
                self._batch_commits += 1  # committed or not: counting too many is harmless

    async def change_marker(self) -> tuple[int, int, int] | None:
        """A value that differs whenever a transaction may have committed to this database
        (from this process or any other) since it was last read; None where there is no cheap
        way to tell (PostgreSQL, in-memory SQLite): then anything may have changed.

        SQLite's `PRAGMA data_version`, read on the batch connection, changes with every
        commit made on any other connection (one that changed nothing on disk does not count,
        and cannot change an answer); the batch connection's own are counted here. One
        trip to the batch thread, no query of any table. Read it before the reads it vouches
        for: a commit after it changes the next one."""
        if self._batch_thread is None or self._batch_engine is None:
            return None

        def read() -> tuple[int, int]:
            with self._batch_connection() as conn:
                version = conn.exec_driver_sql("PRAGMA data_version").scalar_one()
                conn.rollback()  # ends the transaction SQLAlchemy began; SQLite held no lock
                # A new connection counts afresh: its identity is part of the marker.
                return id(conn.connection.dbapi_connection), int(version)

        commits = self._batch_commits
        loop = asyncio.get_running_loop()
        connection, version = await loop.run_in_executor(self._batch_thread, read)
        return connection, version, commits

    @contextmanager
    def _batch_connection(self) -> Iterator[Connection]:
        """The batch thread's kept connection. Whatever state a failure on it left it in, it is
        dropped, and the next use starts on a new one."""
        assert self._batch_engine is not None
        if self._batch_conn is None or self._batch_conn.invalidated:
            self._drop_batch_connection()
            self._batch_conn = self._batch_engine.connect()
        try:
            yield self._batch_conn
        except BaseException:
            self._drop_batch_connection()
            raise

    def _drop_batch_connection(self) -> None:
        conn, self._batch_conn = self._batch_conn, None
        if conn is not None:
            try:
                conn.close()  # back to the pool, which rolls back whatever is open
            except Exception:
                log.warning("closing the batch connection failed", exc_info=True)

    @asynccontextmanager
    async def _serialised(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def writable(self, seconds: float) -> bool:
        """Whether a write could start now, within `seconds`: a database that answers
        reads but cannot write (another process holds SQLite's write lock, a read-only
        PostgreSQL) stalls every message, and /readyz must say so. Takes no write lock of this
        process's own and writes nothing."""
        try:
            async with asyncio.timeout(seconds + 1.0), self.engine.connect() as conn:
                if self.is_sqlite:
                    # Wait for the lock at most `seconds`, not the 30 s that writes wait.
                    await conn.exec_driver_sql(f"PRAGMA busy_timeout={int(seconds * 1000)}")
                    try:
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                        await conn.exec_driver_sql("ROLLBACK")
                    finally:
                        await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
                else:
                    # A read-only server (a standby, default_transaction_read_only) says so;
                    # assigning a transaction id shows a stuck server as the time-out.
                    ms = int(seconds * 1000)
                    await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                    writable = (
                        await conn.execute(
                            text(
                                "SELECT current_setting('transaction_read_only') = 'off' "
                                "AND NOT pg_is_in_recovery()"
                            )
                        )
                    ).scalar_one()
                    await conn.execute(text("SELECT txid_current()"))
                    await conn.rollback()
                    return bool(writable)
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
        await self.engine.dispose()
        if self._batch_thread is not None and self._batch_engine is not None:
            engine, thread = self._batch_engine, self._batch_thread

            # The pooled connection belongs to the batch thread (sqlite3 checks): close it there.
            def close() -> None:
                self._drop_batch_connection()
                engine.dispose()

            await asyncio.get_running_loop().run_in_executor(thread, close)
            thread.shutdown(wait=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job, off the write path
    cursor.close()


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database file, on a thread of its own.

    Why not SQLite's automatic checkpoint: it runs inside the commit that takes the log past
    1,000 pages, so one message's transaction in every few hundred also copies megabytes and
    syncs the file to disk while it holds the process's write lock, and every message behind it
    waits. A passive checkpoint here never blocks writers or readers; it copies what no reader
    still needs, and the log starts over once it is all copied."""

    def __init__(self, path: str, interval: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(self.interval):
            try:
                if conn is None:
                    conn = sqlite3.connect(self.path, timeout=SQLITE_BUSY_MS / 1000)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                log.warning("checkpoint of %s failed; will try again", self.path, exc_info=True)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
