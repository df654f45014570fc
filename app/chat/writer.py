"""Group commit for messages: every send that arrives while a write is in flight is stored by
the next single transaction, so storage keeps up with a busy service without adding latency
to a quiet one (a lone message is written at once)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter

from app.chat import access
from app.chat.sequencer import RoomSequencer
from app.chat.views import view_of
from app.core.clock import new_id, utcnow
from app.core.errors import NotFound
from app.core.events import Events
from app.core.identity import Principal
from app.storage.database import Database
from app.storage.keys import key_params
from app.storage.models import Membership, Message, Room

log = logging.getLogger(__name__)
MAX_BATCH = 256
LOOKUP_KEYS = 16
"""Keys per lookup statement, a larger batch taking several. On PostgreSQL a batch of 100 keys
took 75 ms as one union of 128 parts (most of it planning), against 31 ms for the three keyed
statements before, and 21 ms in parts of 16; on SQLite parts of 16 cost no more than one."""


_MESSAGES = cast(Table, Message.__table__)
_INSERT = insert(_MESSAGES)
_ROOMS = cast(Table, Room.__table__)
_MEMBERSHIPS = cast(Table, Membership.__table__)


def _lookup_one(i: int) -> Select[Any]:
    """What the checks need of the i-th key, in one row: the room (no row: no such room), the
    sender's current membership (nulls: not a member) and the message already stored under
    this client_msg_id (nulls: none)."""
    room_id: BindParameter[str] = bindparam(f"k{i}_0")
    sender_id: BindParameter[str] = bindparam(f"k{i}_1")
    client_msg_id: BindParameter[str] = bindparam(f"k{i}_2")
    member = and_(
        _MEMBERSHIPS.c.room_id == _ROOMS.c.id,
        _MEMBERSHIPS.c.member_id == sender_id,
        _MEMBERSHIPS.c.left_at.is_(None),
    )
    stored = and_(
        _MESSAGES.c.room_id == _ROOMS.c.id,
        _MESSAGES.c.sender_id == sender_id,
        _MESSAGES.c.client_msg_id == client_msg_id,
    )
    return (
        select(
            literal_column(str(i)).label("key"),
            _ROOMS.c.status,
            _ROOMS.c.kind,
            _ROOMS.c.assigned_to,
            _ROOMS.c.paused_at,
            _MEMBERSHIPS.c.role,
            _MEMBERSHIPS.c.muted_at,
            _MESSAGES.c.id.label("message_id"),
            _MESSAGES.c.seq,
            _MESSAGES.c.sender_handle,
            _MESSAGES.c.sender_role,
            _MESSAGES.c.body,
            _MESSAGES.c.sent_at,
        )
        .select_from(_ROOMS.outerjoin(_MEMBERSHIPS, member).outerjoin(_MESSAGES, stored))
        .where(_ROOMS.c.id == room_id)
    )


@functools.cache
def _lookup_statement(size: int) -> Any:
    """One statement for every key's checks in a batch: each statement costs its own trip
    through SQLAlchemy and the driver, and a lone message (the common case) used to pay for
    three. Each part is searched by primary and unique keys.

    Sizes are powers of two up to ``LOOKUP_KEYS`` (``_lookup`` pads a batch's keys and splits a
    larger batch): building and compiling one costs about half a millisecond a key, and one
    statement per count meant up to 256 of them, built by the first batches of a busy minute,
    which fell behind while they did."""
    parts = [_lookup_one(i) for i in range(size)]
    return parts[0] if size == 1 else union_all(*parts)


@dataclass(slots=True)
class Submitted:
    sender: Principal
    room_id: str
    client_msg_id: str
    body: str
    origin: str | None
    future: asyncio.Future[tuple[dict[str, Any], bool]] = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.room_id, self.sender.id, self.client_msg_id)


Outcome = tuple[dict[str, Any], bool] | BaseException
"""(message view, duplicate) or the refusal for this request alone."""


class MessageWriter:
    def __init__(self, db: Database, events: Events) -> None:
        self._db = db
        self._events = events
        self._pending: list[Submitted] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self, *, sender: Principal, room_id: str, client_msg_id: str, body: str,
        origin: str | None,
    ) -> tuple[dict[str, Any], bool]:  # fmt: skip
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="message-writer")
        future: asyncio.Future[tuple[dict[str, Any], bool]] = loop.create_future()
        self._pending.append(Submitted(sender, room_id, client_msg_id, body, origin, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                outcomes = await self._write_or_split(batch)
                for item, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, tuple) and not outcome[1]:
                        try:
                            await self._events.message_stored(outcome[0], origin=item.origin)
                        except Exception:  # stored all the same; resumes will deliver it
                            log.exception("announcing a stored message failed")
                    if item.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        item.future.set_exception(outcome)
                    else:
                        item.future.set_result(outcome)

    async def _write_or_split(self, batch: list[Submitted]) -> list[Outcome]:
        """A failed batch is retried one by one, so one bad request fails alone."""
        try:
            return await self._write(batch)
        except Exception as exc:
            if len(batch) > 1:
                return [(await self._write_or_split([item]))[0] for item in batch]
            error: BaseException = exc
        if isinstance(error, IntegrityError):
            # The same client_msg_id raced in through another connection and won: its ack.
            try:
                return await self._write(batch)
            except Exception as again:
                error = again
        log.warning("storing a message failed: %s", type(error).__name__)
        return [error]

    async def _write(self, batch: list[Submitted]) -> list[Outcome]:
        # One transaction, run whole where the database is (one thread hop on SQLite).
        return await self._db.run_batch(lambda conn: _write_batch(conn, batch))


def _write_batch(conn: Connection, batch: list[Submitted]) -> list[Outcome]:
    """Check and store a batch inside the caller's transaction. Synchronous and free of the
    event loop: it touches no future and publishes nothing (the writer's task does both)."""
    outcomes: dict[int, Outcome] = {}
    found = _lookup(conn, {item.key for item in batch})
    accepted: dict[str, list[int]] = defaultdict(list)
    first_of: dict[tuple[str, str, str], int] = {}
    for n, item in enumerate(batch):
        row = found.get(item.key)
        if row is not None and row.message_id is not None:
            outcomes[n] = (_stored_view(item, row), True)
            continue
        if item.key in first_of:  # sent twice within this batch
            continue
        if row is None:
            outcomes[n] = NotFound("no such room")
        elif refusal := access.post_refusal(
            item.sender, row, row if row.role is not None else None
        ):
            outcomes[n] = refusal
        else:
            first_of[item.key] = n
            accepted[item.room_id].append(n)
    for n, view in _store(conn, batch, accepted).items():
        outcomes[n] = (view, False)
    for n, item in enumerate(batch):
        if n not in outcomes:
            first = outcomes[first_of[item.key]]
            outcomes[n] = (first[0], True) if isinstance(first, tuple) else first
    return [outcomes[n] for n in range(len(batch))]


def _lookup(conn: Connection, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Any]:
    found: dict[tuple[str, str, str], Any] = {}
    ordered = list(keys)
    for start in range(0, len(ordered), LOOKUP_KEYS):
        chunk = ordered[start : start + LOOKUP_KEYS]
        size = 1 << (len(chunk) - 1).bit_length()
        chunk += [chunk[-1]] * (size - len(chunk))  # the padding repeats the last key
        for row in conn.execute(_lookup_statement(size), key_params(chunk)):
            found[chunk[row.key]] = row
    return found


def _stored_view(item: Submitted, row: Any) -> dict[str, Any]:
    return view_of(
        room_id=item.room_id, seq=row.seq, message_id=row.message_id,
        client_msg_id=item.client_msg_id, sender_id=item.sender.id,
        sender_handle=row.sender_handle, sender_role=row.sender_role, body=row.body,
        sent_at=row.sent_at,
    )  # fmt: skip


def _store(
    conn: Connection, batch: list[Submitted], accepted: dict[str, list[int]]
) -> dict[int, dict[str, Any]]:
    """Take a run of seqs per room (RoomSequencer: one statement for the batch), then insert
    every message in one statement."""
    rows: list[dict[str, Any]] = []
    views: dict[int, dict[str, Any]] = {}
    now = utcnow()
    taken = RoomSequencer.take_on(
        conn, {room_id: len(indices) for room_id, indices in accepted.items()}
    )
    for room_id, indices in sorted(accepted.items()):
        for seq, n in zip(taken[room_id], indices, strict=True):
            item = batch[n]
            message_id = new_id("msg")
            rows.append({
                "id": message_id, "room_id": room_id, "seq": seq, "sender_id": item.sender.id,
                "sender_handle": item.sender.handle, "sender_role": item.sender.role,
                "client_msg_id": item.client_msg_id, "body": item.body, "sent_at": now,
            })  # fmt: skip
            views[n] = view_of(
                room_id=room_id, seq=seq, message_id=message_id,
                client_msg_id=item.client_msg_id, sender_id=item.sender.id,
                sender_handle=item.sender.handle, sender_role=item.sender.role,
                body=item.body, sent_at=now,
            )  # fmt: skip
    if rows:
        # A lone row as parameters, not a list of one: SQLAlchemy's executemany path costs more.
        conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
    return views
