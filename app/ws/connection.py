"""One client connection: a bounded send queue and, per joined room, a cursor that turns
at-least-once news from the bus into ordered, gapless, duplicate-free delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketState

from app.core.clock import new_id
from app.core.identity import Principal
from app.core.limits import TokenBucket
from app.ws import frames, wire

log = logging.getLogger(__name__)
MAX_PENDING = 500
"""Out-of-order messages held per room while a gap is filled; past this the client resumes."""


@dataclass(slots=True)
class RoomCursor:
    next_seq: int = 1
    replaying: bool = True
    silent: bool = False
    pending: dict[int, str] = field(default_factory=dict)
    filling: bool = False


class Outbox:
    """Frames waiting to be sent: bounded, first in first out, one consumer (the sender).

    Lighter than ``asyncio.Queue`` (three deques and an Event per instance): this is part of
    every idle connection's memory."""

    __slots__ = ("_frames", "_maxsize", "_ready", "_space")

    def __init__(self, maxsize: int) -> None:
        self._frames: deque[str] = deque()
        self._maxsize = maxsize
        self._ready: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None

    def put_nowait(self, frame: str) -> bool:
        """False when full."""
        if len(self._frames) >= self._maxsize:
            return False
        self._frames.append(frame)
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        return True

    async def put(self, frame: str) -> None:
        while not self.put_nowait(frame):
            if self._space is None or self._space.done():
                self._space = asyncio.get_running_loop().create_future()
            await self._space

    def __len__(self) -> int:
        return len(self._frames)

    def get_nowait(self) -> str | None:
        """The next frame, or None when there is none."""
        if not self._frames:
            return None
        if self._space is not None and not self._space.done():
            self._space.set_result(None)
        return self._frames.popleft()

    async def get(self) -> str:
        while not self._frames:
            self._ready = asyncio.get_running_loop().create_future()
            await self._ready
        frame = self.get_nowait()
        assert frame is not None
        return frame


class Connection:
    __slots__ = (
        "_closing",
        "_on_slow",
        "_outbox",
        "_proto",
        "_sending",
        "blocked",
        "close_code",
        "close_reason",
        "expires_at",
        "frame_bucket",
        "heard",
        "id",
        "issued_at",
        "last_typing",
        "message_bucket",
        "pinged",
        "principal",
        "rooms",
        "sender_task",
        "websocket",
    )  # fmt: skip

    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        *,
        queue_size: int,
        messages: TokenBucket,
        frames_bucket: TokenBucket,
        on_slow: Callable[[], None],
    ) -> None:
        self.id = new_id("conn")
        self.websocket = websocket
        self.principal = principal
        self.rooms: dict[str, RoomCursor] = {}
        self.message_bucket = messages
        self.frame_bucket = frames_bucket
        self.close_code = 1000
        self.close_reason = ""
        self._outbox = Outbox(queue_size)
        self._proto = wire.protocol_of(websocket)
        """Where frames may be written straight to the socket (None: through ASGI only)."""
        self._sending = False
        """The sender holds a frame taken from the outbox: later frames must queue behind it."""
        self._closing = False
        self._on_slow = on_slow
        self.last_typing: dict[str, float] = {}
        self.blocked: set[str] = set()
        """Senders this participant has blocked: their messages and typing are not sent here."""
        self.issued_at = 0.0
        self.expires_at = float("inf")
        """When the token this connection signed in with expires (epoch seconds)."""
        self.sender_task: asyncio.Task[None] | None = None
        """Runs ``run_sender``; cancelled by ``close`` so that the connection ends at once."""
        self.heard = False
        """A frame came from the client since the heartbeat's last sweep: it needs no ping."""
        self.pinged: bytes | None = None
        """The payload of the heartbeat's ping still awaiting its pong, if any."""

    def sees(self, sender_id: object) -> bool:
        return sender_id not in self.blocked

    @property
    def is_staff(self) -> bool:
        return self.principal.is_staff

    # sending

    def push(self, frame: str) -> None:
        """Queue a frame without waiting. A client that cannot keep up is closed with a code
        that tells it to reconnect and resume; nothing is lost, since storage has it all."""
        if self._closing or not frame:  # "" stands for a message hidden by a block
            return
        proto = self._proto
        if proto is not None and not self._sending and not self._outbox and wire.can_write(proto):
            # Nothing queued ahead of it: straight to the socket, no task switch, no ASGI.
            proto.transport.write(wire.frames_cache.framed(frame))
            return
        if not self._outbox.put_nowait(frame):
            self._on_slow()
            self.close(frames.CLOSE_TOO_SLOW, "too slow: reconnect and resume")

    async def push_waiting(self, frame: str) -> None:
        """For replays, which may be long: wait for room instead of dropping the client."""
        if self._closing or not frame:
            return
        proto = self._proto
        if proto is not None and not self._sending and not self._outbox and wire.can_write(proto):
            proto.transport.write(wire.frames_cache.framed(frame))
            return
        await self._outbox.put(frame)

    def close(self, code: int, reason: str = "") -> None:
        """Stop sending at once (frames still queued are dropped; the client resumes from
        storage), also when the sender waits for a slow client's socket to drain."""
        if not self._closing:
            self.close_code = code
            self.close_reason = reason
            self._closing = True
            if self.sender_task is not None:
                self.sender_task.cancel()

    @property
    def closing(self) -> bool:
        return self._closing

    async def run_sender(self) -> None:
        """Send queued frames in order until the connection closes: frames that `push` could
        not write at once (back-pressure, or a server without direct writes). Once the socket
        takes data again, everything queued goes out in one write. No helper tasks: two new
        tasks and an asyncio.wait per frame cost more than the send."""
        outbox, send, proto = self._outbox, self.websocket.send_text, self._proto
        while not self._closing:
            frame = await outbox.get()
            if self._closing:
                return
            self._sending = True
            try:
                if proto is not None:
                    await proto.writable.wait()  # the transport's buffer drained
                    if self._closing:
                        return
                    if wire.can_write(proto):
                        batch = [wire.frames_cache.framed(frame)]
                        while (more := outbox.get_nowait()) is not None:
                            batch.append(wire.frames_cache.framed(more))
                        proto.transport.write(b"".join(batch))
                        continue
                await send(frame)  # the server's own path (it reports a closed socket)
            finally:
                self._sending = False

    async def finish(self) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(self.close_code, self.close_reason)

    # ordered delivery

    def offer(self, room_id: str, seq: int, frame: str) -> bool:
        """Deliver message `seq` in order. Returns True when a gap needs filling from storage."""
        cursor = self.rooms.get(room_id)
        if cursor is None or seq < cursor.next_seq:
            return False
        if cursor.replaying or seq > cursor.next_seq:
            cursor.pending[seq] = frame
            if len(cursor.pending) > MAX_PENDING:
                self.close(frames.CLOSE_TOO_SLOW, "too far behind: reconnect and resume")
            return not cursor.replaying
        self.push(frame)
        cursor.next_seq += 1
        self.drain(cursor)
        return False

    def drain(self, cursor: RoomCursor) -> None:
        """Deliver held messages that are now next in line; drop any already delivered."""
        for seq in [s for s in cursor.pending if s < cursor.next_seq]:
            del cursor.pending[seq]
        while cursor.next_seq in cursor.pending:
            frame = cursor.pending.pop(cursor.next_seq)
            if frame:  # "" is counted but not sent: the client's own message, or a blocked one
                self.push(frame)
            cursor.next_seq += 1

    def passed_own(self, room_id: str, seq: int) -> bool:
        """This client sent `seq` and got its ack: move past it without delivering it, now or,
        if earlier messages are still on their way, when they have arrived. True when those
        are awaited (the caller has storage fill the gap should they not come)."""
        cursor = self.rooms.get(room_id)
        if cursor is None or seq < cursor.next_seq:
            return False
        if seq == cursor.next_seq and not cursor.replaying:
            cursor.next_seq += 1
            self.drain(cursor)
            return False
        cursor.pending[seq] = ""
        return not cursor.replaying
