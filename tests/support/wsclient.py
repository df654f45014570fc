"""A real WebSocket client speaking the /ws protocol, as an outside client would."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin


class WsClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.backlog: list[dict[str, Any]] = []
        self.user: dict[str, Any] = {}

    @classmethod
    async def connect(
        cls, url: str, token: str | None = None, *, origin: str | None = None
    ) -> WsClient:
        conn = await websockets.connect(
            url,
            origin=Origin(origin) if origin is not None else None,
            open_timeout=10,
            max_size=2**20,
        )
        client = cls(conn)
        if token is not None:
            await client.send({"type": "auth", "token": token})
            ready = await client.expect("ready")
            client.user = ready["user"]
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def expect(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of this type (and fields), keeping the others for later reads."""
        for i, frame in enumerate(self.backlog):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} frame {match} within {timeout}s; saw {self.backlog}")
            raw = await asyncio.wait_for(self.conn.recv(), remaining)
            frame = json.loads(raw)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return dict(frame)
            self.backlog.append(frame)

    async def quiet(self, seconds: float = 0.3, limit: float = 15.0) -> list[dict[str, Any]]:
        """Everything that arrives until `seconds` pass without a frame (to show that nothing
        else came), reading for `limit` seconds at most."""
        frames = list(self.backlog)
        self.backlog.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            while loop.time() < deadline:
                wait = min(seconds, max(0.0, deadline - loop.time()))
                frames.append(json.loads(await asyncio.wait_for(self.conn.recv(), wait)))
        except TimeoutError:
            pass
        return frames

    async def join(
        self, room_id: str, after_seq: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "join", "room_id": room_id, **extra}
        if after_seq is not None:
            frame["after_seq"] = after_seq
        await self.send(frame)
        return await self.expect("joined", room_id=room_id)

    async def say(
        self, room_id: str, body: str, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        cid = client_msg_id or uuid.uuid4().hex
        await self.send({"type": "send", "room_id": room_id, "client_msg_id": cid, "body": body})
        return await self.expect("ack", client_msg_id=cid, timeout=10)

    async def messages(
        self, room_id: str, count: int, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        return [
            await self.expect("message", room_id=room_id, timeout=timeout) for _ in range(count)
        ]

    async def close(self) -> None:
        await self.conn.close()
