"""Taking seqs, written once: a lone message (a system notice, a request's note) and the
message writer's batches take a room's next seqs the same way."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, case, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import BindParameter

from app.storage.models import Room

MAX_ROOMS = 256
"""Statements are cached per number of rooms up to this (the writer's largest batch)."""
_ROOMS = cast(Table, Room.__table__)


@lru_cache(maxsize=MAX_ROOMS)
def _take_seqs(rooms: int) -> Any:
    """One UPDATE ... RETURNING for every room of a batch, built once per number of rooms.

    One statement: each is a round trip to the database's thread (SQLite) or server, and under
    load a round trip waits for the event loop. Built once: SQL constructs are cyclic garbage,
    and building them per batch kept the garbage collector busy. On PostgreSQL the rows are
    locked in id order first (the sub-select), the same order on every node, so that two
    nodes' batches cannot deadlock; SQLite has a single writer and ignores the lock."""
    ids: list[BindParameter[str]] = [bindparam(f"r{i}") for i in range(rooms)]
    if rooms == 1:
        # One row: nothing to order the locks against, and the plain form costs SQLite less.
        return (
            update(_ROOMS)
            .where(_ROOMS.c.id == ids[0])
            .values(last_seq=_ROOMS.c.last_seq + bindparam("c0"))
            .returning(_ROOMS.c.id, _ROOMS.c.last_seq)
        )
    locked = (
        select(_ROOMS.c.id)
        .where(_ROOMS.c.id.in_(ids))
        .order_by(_ROOMS.c.id)
        .with_for_update()
        .subquery()
    )
    counts = case(*((_ROOMS.c.id == ids[i], bindparam(f"c{i}")) for i in range(rooms)), else_=0)
    return (
        update(_ROOMS)
        .where(_ROOMS.c.id == locked.c.id)
        .values(last_seq=_ROOMS.c.last_seq + counts)
        .returning(_ROOMS.c.id, _ROOMS.c.last_seq)
    )


def _params(counts: Mapping[str, int]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, (room_id, count) in enumerate(counts.items()):
        params[f"r{i}"], params[f"c{i}"] = room_id, count
    return params


class RoomSequencer:
    """Seqs are gapless because they are taken inside the transaction that inserts the
    messages: the UPDATE row-locks each room on PostgreSQL until the commit (SQLite has one
    writer), so concurrent senders queue on the room and a rollback gives the seqs back."""

    @staticmethod
    async def take(session: AsyncSession, counts: Mapping[str, int]) -> dict[str, range]:
        """The next ``counts[room]`` seqs of each room, in one statement. Rooms that do not
        exist are absent from the answer."""
        if not counts:
            return {}
        taken: dict[str, range] = {}
        for row in await session.execute(_take_seqs(len(counts)), _params(counts)):
            taken[row.id] = range(row.last_seq - counts[row.id] + 1, row.last_seq + 1)
            # A Room already loaded in this session sees its new last_seq, as after an ORM
            # update; the writer loads none, so this costs it a dictionary lookup.
            loaded = session.identity_map.get(identity_key(Room, row.id))
            if loaded is not None:
                set_committed_value(loaded, "last_seq", row.last_seq)
        return taken

    @staticmethod
    def take_on(conn: Connection, counts: Mapping[str, int]) -> dict[str, range]:
        """The same on a plain synchronous connection: the message writer's batch runs whole
        where the database is (one thread hop per batch on SQLite); it loads no ORM objects."""
        if not counts:
            return {}
        return {
            row.id: range(row.last_seq - counts[row.id] + 1, row.last_seq + 1)
            for row in conn.execute(_take_seqs(len(counts)), _params(counts))
        }

    @classmethod
    async def next(cls, session: AsyncSession, room_id: str) -> int:
        taken = await cls.take(session, {room_id: 1})
        if room_id not in taken:
            raise NoResultFound(f"no room {room_id}")
        return taken[room_id].start
