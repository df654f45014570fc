"""The per-room cursor turns at-least-once, possibly out-of-order news into ordered, gapless,
duplicate-free delivery (the sending side of a connection is not involved here)."""

from __future__ import annotations

import json
from typing import Any

from app.core.enums import Role
from app.core.identity import Principal
from app.core.limits import TokenBucket
from app.ws.connection import Connection, RoomCursor


def _connection() -> Connection:
    conn = Connection(
        None,  # type: ignore[arg-type]  # nothing is sent in these tests
        Principal("p_1", Role.PARTICIPANT, "calm-otter-1"),
        queue_size=100,
        messages=TokenBucket(1, 1),
        frames_bucket=TokenBucket(1, 1),
        on_slow=lambda: None,
    )
    conn.rooms["r"] = RoomCursor(next_seq=1, replaying=False)
    return conn


def _queued(conn: Connection) -> list[int]:
    out: list[Any] = []
    while (frame := conn._outbox.get_nowait()) is not None:
        out.append(json.loads(frame)["seq"])
    return out


def _frame(seq: int) -> str:
    return json.dumps({"type": "message", "seq": seq})


def test_in_order_news_goes_straight_out() -> None:
    conn = _connection()
    assert not any(conn.offer("r", s, _frame(s)) for s in (1, 2, 3))
    assert _queued(conn) == [1, 2, 3]


def test_early_news_waits_for_the_gap_and_duplicates_are_dropped() -> None:
    conn = _connection()
    assert conn.offer("r", 3, _frame(3)) is True  # a gap: the caller schedules a fill
    assert conn.offer("r", 2, _frame(2)) is True
    assert _queued(conn) == []
    assert conn.offer("r", 1, _frame(1)) is False
    assert _queued(conn) == [1, 2, 3]
    assert conn.offer("r", 2, _frame(2)) is False  # already delivered
    assert _queued(conn) == []


def test_own_messages_are_passed_over_even_when_they_overtake_others() -> None:
    conn = _connection()
    assert conn.passed_own("r", 2) is True  # seq 1 from someone else is still on its way
    conn.offer("r", 3, _frame(3))
    assert _queued(conn) == []
    conn.offer("r", 1, _frame(1))
    assert _queued(conn) == [1, 3]  # 2 was this client's own: it had the ack
    assert conn.passed_own("r", 4) is False
    conn.offer("r", 5, _frame(5))
    assert _queued(conn) == [5]


def test_news_for_other_rooms_is_ignored() -> None:
    conn = _connection()
    assert conn.offer("elsewhere", 1, _frame(1)) is False
    assert _queued(conn) == []
