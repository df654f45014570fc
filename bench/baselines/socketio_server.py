"""A minimal python-socketio chat server (ASGI under uvicorn): rooms and emit, nothing else.

No storage, no scoring, any token. Events: `join` {room_id} -> `joined`; `send`
{room_id, client_msg_id, body} -> `ack` to the sender and `message` to the room's others
(`emit(..., room=..., skip_sid=sid)`). GET /healthz answers 200.

    python -m bench.baselines.socketio_server --port 8766
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", transports=["websocket"])
seqs: defaultdict[str, int] = defaultdict(int)
ids = itertools.count(1)
users: dict[str, dict[str, str]] = {}


async def health_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status": "ok"}\n'})


app = socketio.ASGIApp(sio, other_asgi_app=health_app)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    token = (auth or {}).get("token", "anon") if isinstance(auth, dict) else "anon"
    users[sid] = {"id": str(token), "handle": "anon", "role": "participant"}


@sio.event
async def disconnect(sid: str, *args: Any) -> None:
    users.pop(sid, None)


@sio.event
async def join(sid: str, data: dict[str, Any]) -> None:
    room = data["room_id"]
    await sio.enter_room(sid, room)
    await sio.emit("joined", {"room_id": room, "last_seq": seqs[room]}, to=sid)


@sio.event
async def send(sid: str, data: dict[str, Any]) -> None:
    room = data["room_id"]
    seqs[room] += 1
    seq = seqs[room]
    mid = f"msg_{next(ids)}"
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    await sio.emit(
        "ack",
        {
            "room_id": room,
            "client_msg_id": data["client_msg_id"],
            "seq": seq,
            "message_id": mid,
            "sent_at": sent_at,
        },
        to=sid,
    )
    await sio.emit(
        "message",
        {
            "room_id": room,
            "seq": seq,
            "message_id": mid,
            "client_msg_id": data["client_msg_id"],
            "sender": users.get(sid),
            "body": data["body"],
            "sent_at": sent_at,
        },
        room=room,
        skip_sid=sid,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", backlog=4096)
