"""Routing, on a real in-process bus: each room event becomes its frame for the room's
connections on this node, staff-only frames reach staff alone, and an event of a kind the table
does not name is ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from app.assembly import build_domain
from app.bus.memory import MemoryBus
from app.bus.presence import MemoryPresence
from app.core.enums import Role
from app.core.identity import Principal
from app.core.limits import TokenBucket
from app.metrics import Metrics
from app.storage.database import Database
from app.ws.connection import Connection
from app.ws.node import WsNode
from app.ws.routing import ROOM_ROUTES
from tests.support.server import node_settings


@pytest.fixture
async def node() -> AsyncIterator[WsNode]:
    settings = node_settings("sqlite+aiosqlite:///:memory:")
    db = Database(settings.database_url)  # never reached by these events
    ws = WsNode(build_domain(settings, db, MemoryBus()), Metrics(), MemoryPresence())
    yield ws
    await ws.hub.stop()
    await db.dispose()


async def joined(node: WsNode, principal: Principal, room_id: str = "r") -> Connection:
    conn = Connection(
        None,  # type: ignore[arg-type]  # frames stay in the send queue, read by the test
        principal, queue_size=100, messages=TokenBucket(1, 1), frames_bucket=TokenBucket(1, 1),
        on_slow=lambda: None,
    )  # fmt: skip
    node.hub.add(conn)
    cursor = await node.hub.enter(conn, room_id)
    cursor.replaying = False
    return conn


def sent(conn: Connection) -> list[dict[str, Any]]:
    out = []
    while (frame := conn._outbox.get_nowait()) is not None:
        out.append(orjson.loads(frame))
    return out


async def test_staff_frames_reach_staff_only(node: WsNode) -> None:
    participant = await joined(node, Principal("p_1", Role.PARTICIPANT, "calm-otter"))
    worker = await joined(node, Principal("u_1", Role.PEER_WORKER, "worker"))
    supervisor = await joined(node, Principal("u_2", Role.SUPERVISOR, "lead"))
    events = node.domain.events
    await events.room_risk("r", {"event": "room_risk", "room_id": "r", "seq": 3, "risk": "crisis"})
    await events.room("r", {"event": "report", "room_id": "r", "seq": 3, "reason": "abuse"})
    assert sent(participant) == []
    for staff in (worker, supervisor):
        assert [f["type"] for f in sent(staff)] == ["room_risk", "report"]


async def test_member_frames_reach_every_member_and_unknown_kinds_none(node: WsNode) -> None:
    participant = await joined(node, Principal("p_1", Role.PARTICIPANT, "calm-otter"))
    worker = await joined(node, Principal("u_1", Role.PEER_WORKER, "worker"))
    elsewhere = await joined(node, Principal("p_2", Role.PARTICIPANT, "other"), room_id="other")
    await node.domain.events.room("r", {"event": "no_such_kind", "room_id": "r"})
    await node.domain.events.room("r", {"event": "room_closed", "room_id": "r"})
    for conn in (participant, worker):
        assert sent(conn) == [{"type": "room_closed", "room_id": "r"}]
    assert sent(elsewhere) == []


async def test_a_revoked_member_stops_receiving_the_room(node: WsNode) -> None:
    participant = await joined(node, Principal("p_1", Role.PARTICIPANT, "calm-otter"))
    supervisor = await joined(node, Principal("u_2", Role.SUPERVISOR, "lead"))
    await node.domain.events.access_revoked("r", "p_1")
    assert sent(participant) == [{"type": "left", "room_id": "r", "reason": "access_revoked"}]
    assert "r" not in participant.rooms and "r" in supervisor.rooms
    await node.domain.events.room("r", {"event": "room_closed", "room_id": "r"})
    assert sent(participant) == []
    assert sent(supervisor) == [{"type": "room_closed", "room_id": "r"}]


def test_every_event_the_domain_publishes_to_rooms_has_a_route() -> None:
    expected = {"message", "typing", "presence_changed", "blocked", "access_revoked",
                "room_closed", "room_risk", "report"}  # fmt: skip
    assert expected <= set(ROOM_ROUTES)
