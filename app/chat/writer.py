"""Group commit for messages: every send that arrives while a write is in flight is stored by
the next single transaction, so storage keeps up with a busy service without adding latency
to a quiet one (a lone message is written at once)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from app.chat import access
from app.chat.sequencer import RoomSequencer
from app.chat.views import view_of
from app.core.clock import new_id, utcnow
from app.core.errors import NotFound
from app.core.events import Events
from app.core.identity import Principal
from app.storage.database import Database
from app.storage.keys import any_of, key_params
from app.storage.models import Membership, Message, Room

log = logging.getLogger(__name__)
MAX_BATCH = 256


_MESSAGES = cast(Table, Message.__table__)
_INSERT = insert(_MESSAGES)
_KEY = (_MESSAGES.c.room_id, _MESSAGES.c.sender_id, _MESSAGES.c.client_msg_id)
_ROOM_ROWS = select(Room.id, Room.status, Room.kind, Room.assigned_to, Room.paused_at).where(
    Room.id.in_(bindparam("ids", expanding=True))
)
_MEMBER_ROWS = select(
    Membership.room_id, Membership.member_id, Membership.role, Membership.muted_at
).where(Membership.left_at.is_(None))
"""Built once, like the sequencer's statements: these run for every batch (the composite keys
are added per batch by ``any_of``, which the index serves: see app/storage/keys.py)."""


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
    existing = _existing(conn, {item.key for item in batch})
    rooms = _rooms(conn, {item.room_id for item in batch})
    members = _members(conn, {(i.room_id, i.sender.id) for i in batch})
    accepted: dict[str, list[int]] = defaultdict(list)
    first_of: dict[tuple[str, str, str], int] = {}
    for n, item in enumerate(batch):
        if item.key in existing:
            outcomes[n] = (existing[item.key], True)
            continue
        if item.key in first_of:  # sent twice within this batch
            continue
        room = rooms.get(item.room_id)
        if room is None:
            outcomes[n] = NotFound("no such room")
        elif refusal := access.post_refusal(item.sender, room, members.get(item.key[:2])):
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


@functools.cache
def _existing_statement(count: int) -> Select[Any]:
    return select(_MESSAGES).where(any_of(_KEY, count))


@functools.cache
def _members_statement(count: int) -> Select[str, str, str, datetime | None]:
    return _MEMBER_ROWS.where(any_of((Membership.room_id, Membership.member_id), count))


def _existing(
    conn: Connection, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = conn.execute(_existing_statement(len(keys)), key_params(keys))
    return {
        (m.room_id, m.sender_id, cast(str, m.client_msg_id)): view_of(
            room_id=m.room_id,
            seq=m.seq,
            message_id=m.id,
            client_msg_id=m.client_msg_id,
            sender_id=m.sender_id,
            sender_handle=m.sender_handle,
            sender_role=m.sender_role,
            body=m.body,
            sent_at=m.sent_at,
        )
        for m in found
    }


def _rooms(conn: Connection, room_ids: set[str]) -> dict[str, access.PostingRoom]:
    # Plain rows, not ORM objects: identity-map bookkeeping per loaded object showed in profiles.
    found = conn.execute(_ROOM_ROWS, {"ids": list(room_ids)})
    return {row.id: row for row in found}


def _members(
    conn: Connection, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], access.PostingMember]:
    found = conn.execute(_members_statement(len(pairs)), key_params(pairs))
    return {(row.room_id, row.member_id): row for row in found}


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
        conn.execute(_INSERT, rows)
    return views
