"""Group commit for messages: every send that arrives while a write is in flight is stored by
the next single transaction, so storage keeps up with a busy service without adding latency
to a quiet one (a lone message is written at once)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import access
from app.domain.errors import Forbidden, NotFound
from app.domain.identity import Principal
from app.storage.models import Membership, Message, Room, new_id, utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 256
_ROOMS = cast(Table, Room.__table__)
_TAKE_SEQS = (
    update(_ROOMS)
    .where(_ROOMS.c.id == bindparam("room"))
    .values(last_seq=_ROOMS.c.last_seq + bindparam("count"))
    .returning(_ROOMS.c.last_seq)
)
"""Built once, as a Core statement: the ORM's bulk-update path (statement building, cache key,
identity-map synchronisation) cost more CPU than the database did, once per room per batch."""


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
    def __init__(self, domain: Any) -> None:
        self._domain = domain
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
                            await self._domain.events.message_stored(outcome[0], origin=item.origin)
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
        async with self._domain.db.write() as session:
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
                elif not access.can_post(item.sender, room, members.get(item.key[:2])):
                    outcomes[n] = Forbidden("you cannot post in this room")
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
    from app.domain.messages import message_view

    found = await session.execute(
        select(Message).where(
            tuple_(Message.room_id, Message.sender_id, Message.client_msg_id).in_(list(keys))
        )
    )
    return {
        (m.room_id, m.sender_id, cast(str, m.client_msg_id)): message_view(m)
        for m in found.scalars()
    }


async def _rooms(session: AsyncSession, room_ids: set[str]) -> dict[str, Room]:
    found = await session.execute(select(Room).where(Room.id.in_(list(room_ids))))
    return {room.id: room for room in found.scalars()}


async def _members(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], Membership]:
    found = await session.execute(
        select(Membership).where(
            tuple_(Membership.room_id, Membership.member_id).in_(list(pairs)),
            Membership.left_at.is_(None),
        )
    )
    return {(m.room_id, m.member_id): m for m in found.scalars()}


async def _store(
    session: AsyncSession, batch: list[Submitted], accepted: dict[str, list[int]]
) -> dict[int, dict[str, Any]]:
    """Take a run of seqs per room with one UPDATE ... RETURNING each (the row lock on
    PostgreSQL, the single writer on SQLite), then insert every message in one statement."""
    from app.domain.messages import iso

    rows: list[dict[str, Any]] = []
    views: dict[int, dict[str, Any]] = {}
    now = utcnow()
    # Rooms in one order, so that two nodes' batches lock them without deadlocking.
    for room_id, indices in sorted(accepted.items()):
        last = (
            await session.execute(_TAKE_SEQS, {"room": room_id, "count": len(indices)})
        ).scalar_one()
        for offset, n in enumerate(indices):
            item = batch[n]
            seq = last - len(indices) + 1 + offset
            message_id = new_id("msg")
            rows.append({
                "id": message_id, "room_id": room_id, "seq": seq, "sender_id": item.sender.id,
                "sender_handle": item.sender.handle, "sender_role": item.sender.role,
                "client_msg_id": item.client_msg_id, "body": item.body, "sent_at": now,
            })  # fmt: skip
            views[n] = {
                "room_id": room_id,
                "seq": seq,
                "message_id": message_id,
                "client_msg_id": item.client_msg_id,
                "sender": {"id": item.sender.id, "handle": item.sender.handle,
                           "role": item.sender.role},
                "body": item.body,
                "sent_at": iso(now),
            }  # fmt: skip
    if rows:
        await session.execute(insert(cast(Table, Message.__table__)), rows)
    return views
