"""The queue channel converges: whatever changes while a snapshot is being read is in a later
snapshot, and a snapshot read earlier is never delivered after one read later."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.chat import queue as queue_service
from tests.support.actors import participant, staff, waiting_room
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


class HeldRead:
    """The next queue read runs against the real database, then waits to be let go: a read
    that began before a change and has not yet been pushed when the change's news comes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read = asyncio.Event()
        self.gate = asyncio.Event()
        self._armed = True
        real = queue_service.list_queue

        async def held(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            rooms = await real(*args, **kwargs)
            if self._armed:
                self._armed = False
                self.read.set()
                await self.gate.wait()
            return rooms

        monkeypatch.setattr(queue_service, "list_queue", held)


def _ids(frame: dict[str, Any]) -> set[str]:
    return {r["room_id"] for r in frame["rooms"]}


async def _until(client: WsClient, wanted: str) -> dict[str, Any]:
    frame = await client.expect("queue_update", timeout=5)
    while wanted not in _ids(frame):
        frame = await client.expect("queue_update", timeout=5)
    return frame


async def test_a_change_made_while_the_queue_is_read_reaches_it(
    server: RunningServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = await staff(server, http, "peer_worker")
    w = await WsClient.connect(server.ws_url, worker.token)
    await w.send({"type": "subscribe", "channel": "queue"})
    await w.expect("queue_update")
    hold = HeldRead(monkeypatch)
    first = await waiting_room(await participant(server, http))
    await asyncio.wait_for(hold.read.wait(), 5)  # the read for `first` is done, not yet sent
    second = await waiting_room(await participant(server, http))
    await asyncio.sleep(0.3)  # the second request's news has come meanwhile
    hold.gate.set()
    assert first in _ids(await _until(w, first))
    # Before: no snapshot came after the held one, so `second` stayed missing indefinitely.
    assert {first, second} <= _ids(await _until(w, second))
    await w.close()


async def test_an_earlier_read_is_never_sent_after_a_later_one(
    server: RunningServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = await staff(server, http, "peer_worker")
    w = await WsClient.connect(server.ws_url, worker.token)
    hold = HeldRead(monkeypatch)
    await w.send({"type": "subscribe", "channel": "queue"})
    await asyncio.wait_for(hold.read.wait(), 5)  # the subscriber's first snapshot, held
    room_id = await waiting_room(await participant(server, http))
    await asyncio.sleep(0.5)  # the new request's snapshot is due meanwhile
    hold.gate.set()
    await _until(w, room_id)
    later = []
    while True:
        try:
            later.append(await w.expect("queue_update", timeout=1))
        except TimeoutError:
            break
    # Before: the subscriber's first snapshot, read before the request, came after this one.
    assert all(room_id in _ids(f) for f in later), "an older snapshot came after a newer one"
    await w.close()
