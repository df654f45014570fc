"""Group commit for messages: every send that arrives while a write is in flight is stored by
the next single transaction, so storage keeps up with a busy service without adding latency
to a quiet one (a lone message is written at once)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import access
from app.chat.sequencer import RoomSequencer
from app.chat.views import message_view, view_of
from app.core.clock import new_id, utcnow
from app.core.errors import NotFound
from app.core.events import Events
from app.core.identity import Principal
from app.storage.database import Database
from app.storage.models import Membership, Message, Room

log = logging.getLogger(__name__)
MAX_BATCH = 256


_EXISTING = select(Message).where(
    tuple_(Message.room_id, Message.sender_id, Message.client_msg_id).in_(
        bindparam("keys", expanding=True)
    )
)
_ROOM_ROWS = select(Room.id, Room.status, Room.kind, Room.assigned_to, Room.paused_at).where(
    Room.id.in_(bindparam("ids", expanding=True))
)
_MEMBER_ROWS = select(
    Membership.room_id, Membership.member_id, Membership.role, Membership.muted_at
).where(
    tuple_(Membership.room_id, Membership.member_id).in_(bindparam("pairs", expanding=True)),
    Membership.left_at.is_(None),
)
"""Built once, like the sequencer's statements: these run for every batch."""


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
        outcomes: dict[int, Outcome] = {}
        async with self._db.write() as session:
            existing = await _existing(session, {item.key for item in batch})
            rooms = await _rooms(session, {item.room_id for item in batch})
            members = await _members(session, {(i.room_id, i.sender.id) for i in batch})
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
            rows = await _store(session, batch, accepted)
            for n, view in rows.items():
                outcomes[n] = (view, False)
        for n, item in enumerate(batch):
            if n not in outcomes:
                first = outcomes[first_of[item.key]]
                outcomes[n] = (first[0], True) if isinstance(first, tuple) else first
        return [outcomes[n] for n in range(len(batch))]


async def _existing(
    session: AsyncSession, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = await session.execute(_EXISTING, {"keys": list(keys)})
    return {
        (m.room_id, m.sender_id, cast(str, m.client_msg_id)): message_view(m)
        for m in found.scalars()
    }


async def _rooms(session: AsyncSession, room_ids: set[str]) -> dict[str, access.PostingRoom]:
    # Plain rows, not ORM objects: identity-map bookkeeping per loaded object showed in profiles.
    found = await session.execute(_ROOM_ROWS, {"ids": list(room_ids)})
    return {row.id: row for row in found}


async def _members(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], access.PostingMember]:
    found = await session.execute(_MEMBER_ROWS, {"pairs": list(pairs)})
    return {(row.room_id, row.member_id): row for row in found}


async def _store(
    session: AsyncSession, batch: list[Submitted], accepted: dict[str, list[int]]
) -> dict[int, dict[str, Any]]:
    """Take a run of seqs per room (RoomSequencer: one statement for the batch), then insert
    every message in one statement."""
    rows: list[dict[str, Any]] = []
    views: dict[int, dict[str, Any]] = {}
    now = utcnow()
    taken = await RoomSequencer.take(
        session, {room_id: len(indices) for room_id, indices in accepted.items()}
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
        await session.execute(insert(cast(Table, Message.__table__)), rows)
    return views
