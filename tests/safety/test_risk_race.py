"""A room's risk is never lost between two writers: scoring a batch while a help press commits
(several nodes on PostgreSQL) keeps the crisis the press raised."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from app.safety import scores
from app.storage.models import Room
from tests.support.actors import claimed_room
from tests.support.server import RunningServer


async def test_a_help_press_committed_while_a_batch_is_scored_is_kept(
    server: RunningServer, http: httpx.AsyncClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time: the two cannot interleave")
    person, worker, room_id = await claimed_room(server, http)
    record = scores.ScoreRecord(
        message_id="msg_not_stored", room_id=room_id, seq=1, sender_id=person.id,
        from_participant=True, sentiment_label="negative", sentiment_score=-0.6, emotions={},
        risk_level="elevated", risk_reasons=("distress",),
    )  # fmt: skip
    other = create_async_engine(database_url)
    try:
        async with other.connect() as conn:
            press = await conn.begin()  # another node's help press, under way
            await conn.execute(select(Room.id).where(Room.id == room_id).with_for_update())
            batch = asyncio.create_task(scores.record(server.domain, [record]))
            await asyncio.sleep(0.5)  # the batch reads the room meanwhile
            await conn.execute(
                update(Room)
                .where(Room.id == room_id)
                .values(risk_level="crisis", risk_version=Room.risk_version + 1)
            )
            await press.commit()
        shown = await asyncio.wait_for(batch, 10)
    finally:
        await other.dispose()
    # Before: the batch read "none" past the press's lock and wrote "elevated" over its crisis.
    assert shown[room_id]["level"] == "crisis"
    room = (await worker.get(f"/api/v1/rooms/{room_id}")).json()["risk"]
    assert room["level"] == "crisis" and room["version"] == shown[room_id]["version"]
