"""The ceiling of this stack: a minimal chat broadcast server on the bare `websockets` library.

No auth (any token), no storage, no scoring: it speaks just enough of peerchat's frames
(auth -> ready, join -> joined, send -> ack + message to the room's other members) for the
same load generator to drive it. Frames are encoded once per fan-out and sent with
`websockets.broadcast`, as a careful hand-written server would.

    python -m bench.baselines.bare_ws --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
from collections import defaultdict
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import orjson
import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: defaultdict[str, set[ServerConnection]] = defaultdict(set)
seqs: defaultdict[str, int] = defaultdict(int)
ids = itertools.count(1)


def _health(connection: ServerConnection, request: Any) -> Any:
    if request.path == "/healthz":
        return connection.respond(HTTPStatus.OK, '{"status": "ok"}\n')
    return None


async def handler(ws: ServerConnection) -> None:
    joined: set[str] = set()
    user = {"id": "anon", "handle": "anon", "role": "participant"}
    try:
        async for raw in ws:
            frame = orjson.loads(raw)
            kind = frame.get("type")
            if kind == "auth":
                user = {"id": str(frame.get("token")), "handle": "anon", "role": "participant"}
                await ws.send(orjson.dumps({"type": "ready", "user": user}).decode())
            elif kind == "join":
                room = frame["room_id"]
                rooms[room].add(ws)
                joined.add(room)
                await ws.send(
                    orjson.dumps(
                        {"type": "joined", "room_id": room, "last_seq": seqs[room]}
                    ).decode()
                )
            elif kind == "send":
                room = frame["room_id"]
                seqs[room] += 1
                seq = seqs[room]
                mid = f"msg_{next(ids)}"
                sent_at = datetime.now(UTC).isoformat(timespec="milliseconds")
                await ws.send(
                    orjson.dumps(
                        {
                            "type": "ack",
                            "room_id": room,
                            "client_msg_id": frame["client_msg_id"],
                            "seq": seq,
                            "message_id": mid,
                            "sent_at": sent_at,
                        }
                    ).decode()
                )
                out = orjson.dumps(
                    {
                        "type": "message",
                        "room_id": room,
                        "seq": seq,
                        "message_id": mid,
                        "client_msg_id": frame["client_msg_id"],
                        "sender": user,
                        "body": frame["body"],
                        "sent_at": sent_at,
                    }
                ).decode()
                broadcast([c for c in rooms[room] if c is not ws], out)
            elif kind == "ping":
                await ws.send('{"type":"pong"}')
    except websockets.ConnectionClosed:
        pass
    finally:
        for room in joined:
            rooms[room].discard(ws)


async def main(host: str, port: int) -> None:
    async with serve(
        handler,
        host,
        port,
        process_request=_health,
        max_size=65536,
        ping_interval=20,
        backlog=4096,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.host, args.port))
