"""The node's heartbeat sweep, with real clients against a real uvicorn server: a client that
stops answering pings is closed and drops out of presence within 3 sweeps; one that answers,
or talks, stays; uvicorn's own per-socket keepalive is off."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets

from app.ws import wire
from app.ws.connection import Connection
from app.ws.heartbeat import CLOSE_NO_PONG
from app.ws.node import WsNode
from tests.support.actors import claimed_room
from tests.support.server import RunningServer, node_settings, serve
from tests.support.wsclient import WsClient


def _node(server: RunningServer) -> WsNode:
    node: WsNode = server.app.state.ws
    return node


async def _conn_of(node: WsNode, user_id: str) -> Connection:
    for _ in range(100):
        for conn in node.hub.connections.values():
            if conn.principal.id == user_id:
                return conn
        await asyncio.sleep(0.02)
    raise AssertionError(f"no connection of {user_id}")


async def test_uvicorns_own_keepalive_is_off(server: RunningServer) -> None:
    config = server.server.config
    assert (config.ws, config.ws_ping_interval, config.ws_ping_timeout) == (
        "websockets-sansio",
        None,
        None,
    )


async def test_sweeps_ping_only_the_silent_and_close_the_gone(database_url: str) -> None:
    """Sweeps driven by hand (the timed loop is parked an hour away): talking skips the ping,
    an answered ping skips the next, an unanswered one closes the socket with 1011 and the
    endpoint then clears its presence."""
    async with (
        serve(node_settings(database_url, heartbeat_seconds=3600)) as server,
        server.client() as http,
    ):
        node = _node(server)
        person, worker, room_id = await claimed_room(server, http)
        p = await WsClient.connect(server.ws_url, person.token)
        await p.join(room_id)
        w = await WsClient.connect(server.ws_url, worker.token)
        await w.join(room_id)
        both = await p.expect("presence", room_id=room_id)
        assert sorted(both["online"]) == sorted([person.handle, worker.handle])
        wconn = await _conn_of(node, worker.id)

        assert await node.heartbeat.sweep() == 0  # both just sent frames: no pings
        assert wconn.pinged is None
        assert await node.heartbeat.sweep() == 0  # silent since: pinged
        assert wconn.pinged is not None
        await asyncio.sleep(0.3)  # the clients' libraries answer
        assert await node.heartbeat.sweep() == 0  # answered: alive, no ping this time
        assert wconn.pinged is None

        w.conn.transport.pause_reading()  # the worker's client stops reading: no more pongs
        assert await node.heartbeat.sweep() == 0  # pinged (p answers, w cannot)
        await asyncio.sleep(0.3)
        assert await node.heartbeat.sweep() == 1  # the worker's ping went unanswered
        gone = await p.expect("presence", room_id=room_id)
        assert gone["online"] == [person.handle]
        assert all(c.principal.id != worker.id for c in node.hub.connections.values())
        assert any(c.principal.id == person.id for c in node.hub.connections.values())
        w.conn.transport.resume_reading()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await w.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_NO_PONG
        await p.close()


async def test_a_client_that_stops_answering_is_gone_within_three_sweeps(
    database_url: str,
) -> None:
    """The timed loop, end to end: 1 s sweeps; an idle client that answers stays, one that
    stops answering is out of presence within 3 sweeps of its last frame."""
    interval = 1.0
    async with (
        serve(node_settings(database_url, heartbeat_seconds=interval)) as server,
        server.client() as http,
    ):
        person, worker, room_id = await claimed_room(server, http)
        p = await WsClient.connect(server.ws_url, person.token)
        await p.join(room_id)
        w = await WsClient.connect(server.ws_url, worker.token)
        await w.join(room_id)
        await p.expect("presence", room_id=room_id)
        await w.expect("presence", room_id=room_id)
        await p.quiet(0.2, limit=2)
        w.conn.transport.pause_reading()
        last_frame = time.monotonic()  # the worker's join was its last frame
        gone = await p.expect("presence", room_id=room_id, timeout=3 * interval + 2)
        took = time.monotonic() - last_frame
        assert gone["online"] == [person.handle]
        assert took <= 3 * interval + 0.5, took
        # the idle participant answered every ping: still served after several sweeps
        await asyncio.sleep(3 * interval)
        await p.send({"type": "ping"})
        assert await p.expect("pong") == {"type": "pong"}
        await p.close()


async def test_an_idle_client_is_pinged(server: RunningServer, http: httpx.AsyncClient) -> None:
    """Without uvicorn's keepalive, the sweep is what pings: the client sees a ping frame."""
    person, _, room_id = await claimed_room(server, http)
    p = await WsClient.connect(server.ws_url, person.token)
    await p.join(room_id)
    node = _node(server)
    await node.heartbeat.sweep()  # it just talked: no ping
    await node.heartbeat.sweep()  # silent since: pinged
    conn = await _conn_of(node, person.id)
    assert conn.pinged is not None
    await asyncio.sleep(0.3)
    proto = wire.server_protocol(conn.websocket)
    assert proto is not None
    assert proto.pending_ping_payload is None  # the client's pong matched it
    await p.close()
