"""Dead clients are noticed by one node-wide sweep, not one timer per socket.

A client whose network went away (a phone out of coverage, a laptop closed) sends no close frame,
and its TCP connection can look open for many minutes: it must be found by asking. The server's
own keepalive gives every socket two timers (ping every 20 s, pong deadline) and wakes the event
loop for each one separately: with 1,000 idle sockets, about 100 of an idle node's 120-160
wake-ups a second (measured). Here one task wakes every `PEERCHAT_HEARTBEAT_SECONDS` and, for
each connection:

- a ping from the last sweep still unanswered, and no frame since: the client is gone. It is
  failed with 1011 and its transport closed, so the endpoint removes it and clears its presence;
- a ping answered, or a frame received, since the last sweep: it is alive, no ping this time;
- otherwise: ping it (the pong is matched by uvicorn's protocol, which clears its pending
  payload; the next sweep reads that).

So an idle socket is pinged every other sweep, and only after a whole sweep interval in which
nothing came from it; it is closed when the next sweep still has no pong. A client is closed
after 2 to 3 sweep intervals without a frame or pong from it: with the default 10 s, 20-30 s,
where uvicorn's own keepalive took 20-40 s. Pings go out in one pass per sweep (a few
microseconds each, in slices that let messages through) and their pongs come back together,
read in a few turns of the loop.

Needs uvicorn's websockets-sansio protocol (app/server.py picks it and turns uvicorn's own
keepalive off); a connection served any other way is not pinged here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from websockets.protocol import State

from app.metrics import Metrics
from app.ws import wire
from app.ws.connection import Connection
from app.ws.hub import Hub

log = logging.getLogger(__name__)
CLOSE_NO_PONG = 1011
"""What uvicorn and websockets send when a keepalive ping goes unanswered."""
PING_HEADER = bytes((0x89, 4))
"""FIN + ping opcode, unmasked, a 4-byte payload."""
SLICE = 500
"""Connections handled between two turns of the event loop: a sweep of a full node (tens of
thousands of sockets) must not hold up messages for its whole length."""


class Heartbeat:
    def __init__(self, hub: Hub, metrics: Metrics, interval: float) -> None:
        self.hub = hub
        self.metrics = metrics
        self.interval = interval
        self._sweeps = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.warning("heartbeat sweep failed", exc_info=True)

    async def sweep(self) -> int:
        """One pass over this node's connections; returns how many were closed as dead."""
        self._sweeps += 1
        # One payload per sweep: a pong is matched against its own connection's ping only.
        payload = struct.pack("!I", self._sweeps & 0xFFFFFFFF)
        ping = PING_HEADER + payload  # a final, unmasked ping frame (RFC 6455 5.5.2)
        dead = 0
        for n, conn in enumerate(list(self.hub.connections.values()), 1):
            if n % SLICE == 0:
                await asyncio.sleep(0)  # tens of thousands of sockets: let messages through
            if conn.closing:
                continue
            proto = wire.server_protocol(conn.websocket)
            if proto is None or not _open(proto):
                continue
            if conn.pinged is not None:
                answered = proto.pending_ping_payload != conn.pinged
                conn.pinged = None
                if not (answered or conn.heard):
                    self._close(conn, proto)
                    dead += 1
                    continue
                conn.heard = False
                continue  # heard from it since the last sweep: no ping this time
            if conn.heard:
                conn.heard = False
                continue
            proto.pending_ping_payload = payload
            proto.ping_sent_at = proto.loop.time()
            # Framed once per sweep, written as is (as app/ws/wire.py writes text frames): the
            # websockets state machine keeps no record of pings a server sends.
            proto.transport.write(ping)
            conn.pinged = payload
        return dead

    def _close(self, conn: Connection, proto: Any) -> None:
        """As uvicorn's own keepalive does on a missed pong: fail the connection (a close frame,
        then the TCP connection closed without waiting for the client's reply). The transport
        going away hands the endpoint a disconnect, which removes the connection and its
        presence. Data the client never read is dropped: it is not there to read it."""
        self.metrics.ws_heartbeat_closed.inc()
        conn.close(CLOSE_NO_PONG, "no answer to ping")
        proto.pending_ping_payload = None
        with contextlib.suppress(Exception):
            proto.conn.fail(CLOSE_NO_PONG, "keepalive ping timeout")
            proto.transport.write(b"".join(proto.conn.data_to_send()))
        proto.close_sent = True
        if proto.transport.get_write_buffer_size():
            proto.transport.abort()  # a full buffer to a dead peer would hold close() for minutes
        else:
            proto.transport.close()


def _open(proto: Any) -> bool:
    return (
        proto.conn.state is State.OPEN and not proto.close_sent and not proto.transport.is_closing()
    )
