"""RoomSequencer: the one way seqs are taken, by a lone message and by the writer's batches."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from app.chat.messages import insert_system_message
from app.chat.sequencer import RoomSequencer
from app.core.clock import new_id
from app.core.enums import RoomKind, RoomStatus
from app.storage.database import Database
from app.storage.models import Message, Room


async def _rooms(db: Database, count: int) -> list[str]:
    ids = [new_id("room") for _ in range(count)]
    async with db.write() as session:
        for room_id in ids:
            session.add(
                Room(
                    id=room_id,
                    kind=RoomKind.GROUP,
                    status=RoomStatus.ACTIVE,
                    created_by="seq-test",
                    last_seq=0,
                )
            )
    return ids


async def test_runs_are_gapless_per_room_and_rolled_back_with_the_transaction(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        a, b = await _rooms(db, 2)
        async with db.write() as session:
            first = await RoomSequencer.take(session, {a: 3, b: 1})
            assert first == {a: range(1, 4), b: range(1, 2)}
            assert await RoomSequencer.next(session, a) == 4
        with pytest.raises(RuntimeError):
            async with db.write() as session:
                assert await RoomSequencer.take(session, {b: 5}) == {b: range(2, 7)}
                raise RuntimeError("roll back")
        async with db.write() as session:
            # The rolled-back run was given back: no gap.
            assert await RoomSequencer.take(session, {b: 2, "room_missing": 1}) == {b: range(2, 4)}
            with pytest.raises(NoResultFound):
                await RoomSequencer.next(session, "room_missing")
    finally:
        await db.dispose()


async def test_a_loaded_room_sees_its_new_last_seq(database_url: str) -> None:
    """As after an ORM update: code that read the room in the same transaction sees the seq
    its own system message took."""
    db = Database(database_url)
    try:
        (room_id,) = await _rooms(db, 1)
        async with db.write() as session:
            room = await session.get(Room, room_id)
            assert room is not None and room.last_seq == 0
            notice = await insert_system_message(session, room_id=room_id, body="hello")
            assert notice.seq == 1 and room.last_seq == 1
        async with db.read() as session:
            stored = await session.execute(select(Message.seq).where(Message.room_id == room_id))
            assert list(stored.scalars()) == [1]
    finally:
        await db.dispose()
