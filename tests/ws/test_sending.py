"""The sending side of a connection: frames in order, and a client that cannot keep up is
closed at once (4408), even while a send to it is stuck, without holding up anyone else."""

from __future__ import annotations

import asyncio

from app.core.enums import Role
from app.core.identity import Principal
from app.core.limits import TokenBucket
from app.ws import frames
from app.ws.connection import Connection


class StuckSocket:
    """Takes the first `accept` frames, then blocks like a socket whose reader went away."""

    def __init__(self, accept: int) -> None:
        self.sent: list[str] = []
        self.accept = accept
        self.never = asyncio.Event()

    async def send_text(self, frame: str) -> None:
        if len(self.sent) >= self.accept:
            await self.never.wait()
        self.sent.append(frame)


def _connection(socket: StuckSocket, queue_size: int, slow: list[int]) -> Connection:
    return Connection(
        socket,  # type: ignore[arg-type]  # only send_text is used here
        Principal("p_1", Role.PARTICIPANT, "calm-otter-1"),
        queue_size=queue_size,
        messages=TokenBucket(1, 1),
        frames_bucket=TokenBucket(1, 1),
        on_slow=lambda: slow.append(1),
    )


async def test_frames_go_out_in_order() -> None:
    socket = StuckSocket(accept=100)
    conn = _connection(socket, 8, [])
    conn.sender_task = asyncio.create_task(conn.run_sender())
    for i in range(20):
        conn.push(f"f{i}")
        if i % 5 == 0:
            await asyncio.sleep(0)
    for _ in range(50):
        await asyncio.sleep(0)
    assert socket.sent == [f"f{i}" for i in range(20)]
    conn.close(1000)
    await asyncio.gather(conn.sender_task, return_exceptions=True)


async def test_a_full_queue_closes_4408_even_while_a_send_is_stuck() -> None:
    socket, slow = StuckSocket(accept=2), list[int]()
    conn = _connection(socket, 8, slow)
    conn.sender_task = asyncio.create_task(conn.run_sender())
    for i in range(3):
        conn.push(f"f{i}")
    await asyncio.sleep(0.01)  # two sent, the third stuck in send
    assert socket.sent == ["f0", "f1"] and not conn.closing
    for i in range(3, 11):
        conn.push(f"f{i}")  # fills the queue of 8
    assert not conn.closing
    conn.push("f11")  # one too many
    assert conn.closing and conn.close_code == frames.CLOSE_TOO_SLOW and slow == [1]
    await asyncio.wait_for(asyncio.gather(conn.sender_task, return_exceptions=True), 1)
    assert conn.sender_task.done()
    conn.push("after")  # ignored once closing
    assert socket.sent == ["f0", "f1"]


async def test_replays_wait_for_room_instead_of_closing() -> None:
    socket = StuckSocket(accept=1000)
    conn = _connection(socket, 8, [])
    for i in range(8):
        conn.push(f"f{i}")
    waiting = asyncio.create_task(conn.push_waiting("replayed"))
    await asyncio.sleep(0.01)
    assert not waiting.done() and not conn.closing
    conn.sender_task = asyncio.create_task(conn.run_sender())
    await asyncio.wait_for(waiting, 1)
    for _ in range(50):
        await asyncio.sleep(0)
    assert socket.sent == [*(f"f{i}" for i in range(8)), "replayed"]
    conn.close(1000)
    await asyncio.gather(conn.sender_task, return_exceptions=True)
