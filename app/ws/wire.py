"""Server-to-client text frames written straight to a socket's transport.

Through ASGI, every frame to every recipient passes starlette's WebSocket, its exception
wrapper, uvicorn's protocol and the websockets state machine (four Python calls, a coroutine
each), and the connection's sender task is woken for it: most of the event loop's cost of a
delivery. A server frame is just a header and the UTF-8 text (RFC 6455, unmasked), so it is
framed once per fan-out and written to each recipient's transport in one call.

Only where that is safe: uvicorn's websockets-sansio protocol (the one `peerchat serve` picks),
no extension negotiated (peerchat turns permessage-deflate off), the connection open, the
transport not paused for back-pressure, no close frame sent. The handshake, closes and
everything in any other case stay with the server's own ASGI path; keepalive pings are the
node's heartbeat sweep (app/ws/heartbeat.py), through the same protocol object.
"""

from __future__ import annotations

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.protocol import State

RAW_SEND = "peerchat.raw_send"
"""Scope key: the server's own ASGI `send`, before any middleware wraps it."""

try:  # uvicorn's protocol classes are internal: without them, frames go through ASGI
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - depends on the installed uvicorn
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class KeepRawSend:
    """ASGI middleware, outermost: remember the server's `send` for each WebSocket scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def server_protocol(websocket: WebSocket) -> Any | None:
    """The uvicorn websockets-sansio protocol object behind an accepted WebSocket (its
    transport and its websockets state machine), or None under any other server."""
    if WebSocketsSansIOProtocol is None:
        return None
    scope = getattr(websocket, "scope", None) or {}  # stand-ins in unit tests have none
    proto = getattr(scope.get(RAW_SEND), "__self__", None)
    return proto if isinstance(proto, WebSocketsSansIOProtocol) else None


def protocol_of(websocket: WebSocket) -> Any | None:
    """The uvicorn protocol object behind an accepted WebSocket, when frames may be written to
    its transport directly; None otherwise."""
    proto = server_protocol(websocket)
    if proto is None or proto.conn.extensions:
        return None
    return proto


def can_write(proto: Any) -> bool:
    """Open, not closing, and the transport's buffer under its high-water mark."""
    return (
        proto.writable.is_set()
        and not proto.close_sent
        and proto.conn.state is State.OPEN
        and not proto.transport.is_closing()
    )


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (server to client, RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class FrameCache:
    """The last text framed, by identity: a fan-out pushes one string object to every
    recipient in turn, so it is encoded and framed once however many receive it."""

    __slots__ = ("_bytes", "_text")

    def __init__(self) -> None:
        self._text: str | None = None
        self._bytes = b""

    def framed(self, text: str) -> bytes:
        if text is not self._text:
            self._bytes = text_frame(text.encode())
            self._text = text  # held, so its id cannot be reused while cached
        return self._bytes


frames_cache = FrameCache()
