"""Frames written straight to the socket (app/ws/wire.py): taken only where safe, and still in
order, gapless and complete when the client reads slowly and frames must wait their turn."""

from __future__ import annotations

import asyncio
import json
import socket

import websockets

from app.ws import frames, wire
from app.ws.connection import Connection
from tests.support.actors import claimed_room
from tests.support.server import RunningServer, node_settings, serve
from tests.support.wsclient import WsClient


async def _client(url: str, token: str, *, deflate: bool) -> WsClient:
    conn = await websockets.connect(
        url,
        open_timeout=10,
        max_size=2**20,
        compression="deflate" if deflate else None,
        ping_interval=None,  # a paused reader would miss the pongs
    )
    client = WsClient(conn)
    await client.send({"type": "auth", "token": token})
    client.user = (await client.expect("ready"))["user"]
    return client


def _connection_of(node: RunningServer, user_id: str) -> Connection:
    hub = node.app.state.hub
    found: list[Connection] = [c for c in hub.connections.values() if c.principal.id == user_id]
    assert len(found) == 1
    return found[0]


def test_text_frame_headers() -> None:
    assert wire.text_frame(b"hi") == b"\x81\x02hi"
    assert wire.text_frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert wire.text_frame(b"x" * 70_000)[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")
    cache = wire.FrameCache()
    text = json.dumps({"type": "pong"})
    assert cache.framed(text) is cache.framed(text)  # framed once for every recipient


async def test_direct_writes_only_without_extensions(database_url: str) -> None:
    async with serve(node_settings(database_url)) as node, node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        plain = await _client(node.ws_url, person.token, deflate=False)
        deflated = await _client(node.ws_url, worker.token, deflate=True)
        assert _connection_of(node, person.id)._proto is not None
        assert _connection_of(node, worker.id)._proto is None  # permessage-deflate: via ASGI
        await plain.join(room_id)
        await deflated.join(room_id)
        ack = await deflated.say(room_id, "through the server's own path", "d-1")
        got = await plain.expect("message", room_id=room_id)
        assert (got["seq"], got["body"]) == (ack["seq"], "through the server's own path")
        ack = await plain.say(room_id, "straight to the socket", "p-1")
        got = await deflated.expect("message", room_id=room_id)
        assert (got["seq"], got["body"]) == (ack["seq"], "straight to the socket")
        await plain.close()
        await deflated.close()


async def test_a_slow_reader_gets_everything_in_order(database_url: str) -> None:
    """A reader that stops reading fills the socket's buffers; what comes next waits in the
    connection's queue, behind what was written, and arrives in order once it reads again."""
    settings = node_settings(
        database_url, messages_per_second=10_000, message_burst=10_000,
        frames_per_second=10_000, frame_burst=10_000, send_queue_size=5000,
        # The reader answers no ping while it does not read: on a slow machine this test takes
        # longer than the 20-30 s after which the heartbeat takes such a client for gone.
        heartbeat_seconds=120,
    )  # fmt: skip
    async with serve(settings) as node, node.client() as http:
        person, worker, room_id = await claimed_room(node, http)
        sender = await _client(node.ws_url, person.token, deflate=False)
        reader = await _client(node.ws_url, worker.token, deflate=False)
        first = (await reader.join(room_id))["last_seq"]
        await sender.join(room_id)
        conn = _connection_of(node, worker.id)
        assert conn._proto is not None
        transport = reader.conn.transport
        # Small kernel buffers at both ends (a thin pipe), so that the server's side fills soon.
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        server_socket = conn._proto.transport.get_extra_info("socket")
        server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        transport.pause_reading()
        most_queued = 0
        body = "x" * 3900
        count = 400  # about 1.6 MB: more than the buffers hold
        for n in range(count):
            await sender.send(
                {"type": "send", "room_id": room_id, "client_msg_id": f"s-{n}", "body": body}
            )
            if n % 50 == 49:
                await sender.expect("ack", timeout=15)
            most_queued = max(most_queued, len(conn._outbox))
        for _ in range(100):
            most_queued = max(most_queued, len(conn._outbox))
            await asyncio.sleep(0.02)
        assert most_queued > 0, "the socket never pushed back: the test proves nothing"
        transport.resume_reading()
        seqs: list[int] = []
        while len(seqs) < count:
            frame = await reader.recv(timeout=15)
            if frame["type"] == "message":
                assert frame["body"] == body
                seqs.append(frame["seq"])
        assert seqs == list(range(first + 1, first + 1 + count))
        assert conn.close_code != frames.CLOSE_TOO_SLOW  # its queue had room: not dropped
        await sender.close()
        await reader.close()
