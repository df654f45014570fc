"""The message writer against real SQLite: sends that arrive together are stored by one
transaction; a batch that fails is split so that one bad request fails alone and the rest are
stored with gapless seqs; a client_msg_id sent twice (in one batch, or again later) is stored
once and acked with the original."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.bus.memory import MemoryBus
from app.chat.writer import MessageWriter
from app.core.clock import new_id
from app.core.enums import Role
from app.core.errors import Forbidden, NotFound
from app.core.events import Events, decode, room_channel
from app.core.identity import Principal
from app.storage.database import Database
from app.storage.models import Membership, Message, Room
from tests.support.server import migrate

T = TypeVar("T")


class CountingDatabase(Database):
    """Real SQLite; counts write transactions, so that batching and splitting can be seen."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.writes = 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        self.writes += 1
        async with super().write() as session:
            yield session

    async def run_batch(self, work: Callable[[Connection], T]) -> T:
        self.writes += 1
        return await super().run_batch(work)


@pytest.fixture(scope="module")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('writer')) / 'peerchat.db'}"
    await migrate(url)
    return url


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(sqlite_url)
    yield database
    await database.dispose()


class Announced:
    """What the writer published for a room, in order."""

    def __init__(self) -> None:
        self.seqs: list[int] = []

    def __call__(self, data: bytes) -> None:
        self.seqs.append(int(decode(data)["message"]["seq"]))


async def writer_for(db: Database, *room_ids: str) -> tuple[MessageWriter, dict[str, Announced]]:
    bus = MemoryBus()
    announced = {room_id: Announced() for room_id in room_ids}
    for room_id, recorder in announced.items():
        await bus.subscribe(room_channel(room_id), recorder)
    return MessageWriter(db, Events(bus)), announced


async def active_room(db: Database, *members: Principal) -> str:
    room_id = new_id("room")
    async with db.write() as session:
        session.add(Room(id=room_id, kind="group", status="active", created_by="test"))
        await session.flush()
        for member in members:
            session.add(Membership(room_id=room_id, member_id=member.id, role="participant"))
    return room_id


def participant(handle: str | None = None) -> Principal:
    person_id = new_id("p")
    return Principal(id=person_id, role=Role.PARTICIPANT, handle=handle or f"calm-{person_id[-6:]}")


async def stored(db: Database, room_id: str) -> list[tuple[int, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Message.seq, Message.body)
            .where(Message.room_id == room_id)
            .order_by(Message.seq)
        )
        return [(row.seq, row.body) for row in rows]


async def send_together(writer: MessageWriter, sends: list[dict[str, Any]]) -> list[Any]:
    """Submitted in one turn of the event loop, so they reach the writer as one batch."""
    done = await asyncio.gather(
        *(writer.submit(origin=None, **send) for send in sends), return_exceptions=True
    )
    return list(done)


async def test_sends_that_arrive_together_are_stored_by_one_transaction(
    db: CountingDatabase,
) -> None:
    alice, bob = participant(), participant()
    room_a = await active_room(db, alice, bob)
    room_b = await active_room(db, alice)
    writer, announced = await writer_for(db, room_a, room_b)
    sends = [
        {"sender": (alice, bob)[i % 2], "room_id": room_a, "client_msg_id": f"a-{i}",
         "body": f"to a {i}"}
        for i in range(20)
    ] + [
        {"sender": alice, "room_id": room_b, "client_msg_id": f"b-{i}", "body": f"to b {i}"}
        for i in range(5)
    ]  # fmt: skip
    db.writes = 0
    try:
        results = await send_together(writer, sends)
    finally:
        await writer.stop()
    assert db.writes == 1, f"{len(sends)} sends took {db.writes} transactions"
    assert all(not isinstance(r, BaseException) and r[1] is False for r in results), results
    # Seqs follow the order of submission, per room, with no gap.
    assert [r[0]["seq"] for r in results[:20]] == list(range(1, 21))
    assert [r[0]["seq"] for r in results[20:]] == list(range(1, 6))
    assert await stored(db, room_a) == [(i + 1, f"to a {i}") for i in range(20)]
    assert await stored(db, room_b) == [(i + 1, f"to b {i}") for i in range(5)]
    assert announced[room_a].seqs == list(range(1, 21))
    assert announced[room_b].seqs == list(range(1, 6))


async def test_a_batch_with_one_failing_send_is_split_and_the_rest_are_stored(
    db: CountingDatabase,
) -> None:
    alice, bob = participant(), participant()
    broken = participant()
    # A handle the database refuses (NOT NULL): the whole batch's transaction fails.
    broken = Principal(id=broken.id, role=Role.PARTICIPANT, handle=None)  # type: ignore[arg-type]
    room_id = await active_room(db, alice, bob, broken)
    writer, announced = await writer_for(db, room_id)
    sends = [
        {"sender": alice, "room_id": room_id, "client_msg_id": "m1", "body": "first"},
        {"sender": broken, "room_id": room_id, "client_msg_id": "m2", "body": "refused"},
        {"sender": bob, "room_id": room_id, "client_msg_id": "m3", "body": "third"},
        {"sender": alice, "room_id": room_id, "client_msg_id": "m4", "body": "fourth"},
    ]
    db.writes = 0
    try:
        results = await send_together(writer, sends)
    finally:
        await writer.stop()
    assert isinstance(results[1], IntegrityError), results[1]
    ok = [results[0], results[2], results[3]]
    assert all(isinstance(r, tuple) and r[1] is False for r in ok), results
    # The failed batch gave its seqs back: the three stored have 1, 2, 3 in order of sending.
    assert [r[0]["seq"] for r in ok] == [1, 2, 3]
    assert await stored(db, room_id) == [(1, "first"), (2, "third"), (3, "fourth")]
    assert announced[room_id].seqs == [1, 2, 3]
    # The batch, then each send alone, and the failing one once more (a lost race is retried).
    assert db.writes == 1 + len(sends) + 1


async def test_a_refused_send_fails_alone_without_splitting_the_batch(
    db: CountingDatabase,
) -> None:
    alice, outsider = participant(), participant()
    room_id = await active_room(db, alice)
    writer, announced = await writer_for(db, room_id)
    sends = [
        {"sender": alice, "room_id": room_id, "client_msg_id": "k1", "body": "one"},
        {"sender": outsider, "room_id": room_id, "client_msg_id": "k2", "body": "not a member"},
        {"sender": alice, "room_id": "room_missing", "client_msg_id": "k3", "body": "nowhere"},
        {"sender": alice, "room_id": room_id, "client_msg_id": "k4", "body": "two"},
    ]
    db.writes = 0
    try:
        results = await send_together(writer, sends)
    finally:
        await writer.stop()
    assert db.writes == 1
    assert isinstance(results[1], Forbidden)
    assert isinstance(results[2], NotFound)
    assert [results[0][0]["seq"], results[3][0]["seq"]] == [1, 2]
    assert await stored(db, room_id) == [(1, "one"), (2, "two")]
    assert announced[room_id].seqs == [1, 2]


async def test_a_client_msg_id_sent_twice_is_stored_once(db: CountingDatabase) -> None:
    alice, bob = participant(), participant()
    room_id = await active_room(db, alice, bob)
    writer, announced = await writer_for(db, room_id)
    try:
        first = await writer.submit(
            sender=alice, room_id=room_id, client_msg_id="again", body="original", origin=None
        )
        sends = [
            # Twice within one batch: stored once, both acked with the same message.
            {"sender": bob, "room_id": room_id, "client_msg_id": "twice", "body": "bob's"},
            {"sender": bob, "room_id": room_id, "client_msg_id": "twice", "body": "bob's"},
            # Already stored by an earlier batch: the original, whatever the new body says.
            {"sender": alice, "room_id": room_id, "client_msg_id": "again", "body": "changed"},
            # The same client_msg_id from someone else is a different message.
            {"sender": alice, "room_id": room_id, "client_msg_id": "twice", "body": "alice's"},
        ]
        db.writes = 0
        results = await send_together(writer, sends)
    finally:
        await writer.stop()
    assert first[1] is False and first[0]["seq"] == 1
    assert db.writes == 1
    (bob_1, dup_1), (bob_2, dup_2), (again, dup_3), (alice_twice, dup_4) = results
    assert (dup_1, dup_2, dup_3, dup_4) == (False, True, True, False)
    assert bob_1 == bob_2 and bob_1["seq"] == 2
    assert again == first[0]
    assert alice_twice["seq"] == 3
    assert await stored(db, room_id) == [(1, "original"), (2, "bob's"), (3, "alice's")]
    assert announced[room_id].seqs == [1, 2, 3]  # duplicates are not announced again
