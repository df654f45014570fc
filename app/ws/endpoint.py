"""GET /ws: origin check, the auth frame, then a receive task and a send task."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.accounts.sign_in import resolve_session
from app.core.errors import DomainError
from app.core.identity import Verified
from app.core.limits import TokenBucket
from app.ws import frames
from app.ws.connection import Connection
from app.ws.handlers import handle
from app.ws.node import WsNode

log = logging.getLogger(__name__)
router = APIRouter()


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers send Origin; apps and tools don't and are judged by their token alone. A page
    from any other site must not ride on a user's connection (cross-site WebSocket hijacking)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    own = {f"http://{host}", f"https://{host}"}
    return origin in own or origin in allowed


async def _authenticate(websocket: WebSocket, node: WsNode) -> Verified | None:
    settings = node.domain.settings
    try:
        text = await asyncio.wait_for(
            websocket.receive_text(), timeout=settings.auth_timeout_seconds
        )
        frame = frames.parse(text)
        token = frame.get("token")
        if frame["type"] != "auth" or not isinstance(token, str):
            raise frames.FrameError("unauthorized", "the first frame must be auth with a token")
        return await resolve_session(node.domain, token)
    except (TimeoutError, frames.FrameError, DomainError, KeyError, RuntimeError):
        with contextlib.suppress(Exception):
            await websocket.send_text(
                frames.error("unauthorized", "authenticate first with a valid token")
            )
            await websocket.close(frames.CLOSE_UNAUTHORIZED, "unauthorized")
        return None
    except WebSocketDisconnect:
        return None


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    node: WsNode = websocket.app.state.ws
    hub = node.hub
    settings = node.domain.settings
    if not origin_allowed(websocket, settings.allowed_origins):
        await websocket.close(frames.CLOSE_POLICY)  # before accept: the handshake gets 403
        return
    await websocket.accept()
    verified = await _authenticate(websocket, node)
    if verified is None:
        return
    principal = verified.principal
    if hub.sockets_of(principal.id) >= settings.max_sockets_per_identity:
        with contextlib.suppress(Exception):
            await websocket.send_text(
                frames.error(
                    "too_many_connections",
                    f"at most {settings.max_sockets_per_identity} connections at once; "
                    "close another first",
                )
            )
            await websocket.close(frames.CLOSE_POLICY, "too many connections")
        return
    conn = Connection(
        websocket,
        principal,
        queue_size=settings.send_queue_size,
        # Shared by every connection of this identity on this node: more sockets, no more rate.
        messages=hub.message_bucket(principal.id),
        frames_bucket=TokenBucket(settings.frames_per_second, settings.frame_burst),
        on_slow=hub.metrics.ws_slow_consumers.inc,
    )
    conn.issued_at, conn.expires_at = verified.issued_at, verified.expires_at
    hub.add(conn)
    conn.push(frames.encode({"type": "ready", "user": {
        "id": principal.id, "role": principal.role, "handle": principal.handle,
    }}))  # fmt: skip

    # Two tasks per socket: this one receives, the sender sends. When this side closes the
    # connection (too slow, going away), the sender stops and the close frame it leaves behind
    # makes the server hand this loop a disconnect, so both ends meet in the `finally`.
    def sender_done(_: asyncio.Task[None]) -> None:
        if conn.closing:
            hub.spawn(conn.finish())

    conn.sender_task = asyncio.create_task(conn.run_sender())
    conn.sender_task.add_done_callback(sender_done)
    try:
        await _receive(node, conn)
    finally:
        conn.close(conn.close_code, conn.close_reason)
        await conn.finish()
        await node.remove(conn)


async def _receive(node: WsNode, conn: Connection) -> None:
    websocket = conn.websocket
    while not conn.closing:
        message = await websocket.receive()
        conn.heard = True  # alive: the heartbeat skips its next ping
        if message["type"] == "websocket.disconnect":
            conn.close(message.get("code", 1000))
            return
        text = message.get("text")
        if text is None:
            conn.push(frames.error("bad_request", "frames must be text holding a JSON object"))
            continue
        if not conn.frame_bucket.take():
            conn.push(frames.error("rate_limited", "too many frames; slow down"))
            continue
        try:
            frame = frames.parse(text)
        except frames.FrameError as exc:
            conn.push(frames.error(exc.code, exc.detail))
            continue
        try:
            await handle(node, conn, frame)
        except Exception:
            log.exception("frame %s failed", frame.get("type"))
            conn.push(frames.error("internal", "something went wrong on our side; try again"))
