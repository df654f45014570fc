"""Redis hangs (SIGSTOP: the process is there, its sockets accept, nothing answers) under a
conversation on two nodes, then resumes.

Storage is the truth and Redis only carries news, so while Redis hangs: every ack comes at once
(before, each waited for a 2 s publish time-out, one after another), /readyz and /metrics say
the bus is stalled, and a crisis raised on one node reaches the supervisor on the other within
seconds of Redis answering again (before, only through the 60 s re-send). Nothing acked is lost
or repeated."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid

import pytest

from app.bus.redis import RedisBus
from app.metrics import Metrics
from tests.faults.helpers import (
    Member,
    crisis_alert_problems,
    delivery_problems,
    two_nodes_with_own_redis,
    wait_ready,
)
from tests.support.actors import participant, staff
from tests.support.processes import free_port, private_redis, wait_port
from tests.support.storage import stored_seqs

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
BUS_OP_TIMEOUT = 3.0
"""How long the nodes give one Redis call: anything that waited on the hung Redis took this
long at least, or until Redis answered again."""
HANG_SECONDS = 6.0
"""Long enough for the watchdog to see the hang (its ping times out) before Redis answers."""
ACK_LIMIT_SECONDS = 1.5
"""The slowest ack allowed while Redis hangs: half the op time-out, yet well above a busy
two-core machine's worst seen (0.98 s, with a 1 s op time-out and a 0.5 s limit, this failed
on scheduling noise alone)."""
ALERT_LIMIT_SECONDS = 5.0
"""From Redis answering again to the other node's supervisor holding the alert."""


async def test_a_hung_redis_stalls_no_ack_and_loses_no_alert(faults_db: str) -> None:
    nodes = two_nodes_with_own_redis(faults_db, "hang", bus_op_timeout_seconds=BUS_OP_TIMEOUT)
    async with nodes as (redis, a, b), a.client() as http:
        worker = await staff(a, http, "peer_worker")
        sup = await staff(a, http, "supervisor")
        room_id = (await worker.post("/api/v1/groups", json={"name": "hang"})).json()["room_id"]
        p0, p1 = [await participant(a, http) for _ in range(2)]
        for person in (p0, p1):
            assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
        sender = Member("p0@a", p0.token, p0.id, room_id)
        reader = Member("p1@b", p1.token, p1.id, room_id)
        await sender.connect(a.ws_url, after_seq=0)
        await reader.connect(b.ws_url, after_seq=0)
        watcher = Member("supervisor@b", sup.token, sup.id, room_id)
        await watcher.connect(b.ws_url, after_seq=0)
        await watcher.conn.send('{"type": "subscribe", "channel": "alerts"}')
        await sender.send("before the hang")
        await reader.wait_for(lambda: len(reader.books.frames) >= 1, 10, "the first message")

        redis.send_signal(signal.SIGSTOP)
        hung_at = time.monotonic()
        latencies: list[float] = []
        for i in range(20):
            began = time.monotonic()
            cid = await sender.send(f"during the hang {i}")
            await sender.wait_for(lambda cid=cid: cid in sender.books.acks, 5, f"ack {i}")
            latencies.append(time.monotonic() - began)
        acks_took = time.monotonic() - hung_at
        stalled = [
            await wait_ready(node.base_url, status=503, check="bus", value="stalled", timeout=5)
            for node in (a, b)
        ]
        async with a.client() as plain:
            metrics_hung = (await plain.get("/metrics")).text
        began = time.monotonic()
        helped = await p0.post(f"/api/v1/rooms/{room_id}/help")
        help_took = time.monotonic() - began
        assert helped.status_code == 201, helped.text
        await asyncio.sleep(max(0.0, HANG_SECONDS - (time.monotonic() - hung_at)))

        redis.send_signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        alert_after: float | None = None
        for _ in range(int(ALERT_LIMIT_SECONDS * 2 / 0.05)):
            if any(f["type"] == "alert" for f in watcher.other):
                alert_after = time.monotonic() - resumed_at
                break
            await asyncio.sleep(0.05)
        for node in (a, b):
            await wait_ready(node.base_url, status=200, timeout=10)
        async with a.client() as plain:
            metrics_back = (await plain.get("/metrics")).text
        stored = await stored_seqs(a, room_id)
        total = len(stored)
        with contextlib.suppress(TimeoutError):
            await reader.wait_for(
                lambda: reader.books.seen() >= set(range(1, total + 1)), 15, "every message"
            )
        for m in (sender, reader, watcher):
            await m.close()

    problems = delivery_problems(stored, [sender, reader])
    problems += crisis_alert_problems(watcher, room_id, "the supervisor on node B")
    if max(latencies) > ACK_LIMIT_SECONDS:
        problems.append(f"acks waited on the hung Redis: slowest {max(latencies):.2f}s")
    if help_took > ACK_LIMIT_SECONDS:
        problems.append(f"a help request waited {help_took:.2f}s on the hung Redis")
    for body in stalled:
        if body["checks"]["bus"] != "stalled":
            problems.append(f"/readyz during the hang: {body}")
    if "peerchat_bus_stalled 1.0" not in metrics_hung:
        problems.append("/metrics did not show the stall")
    if "peerchat_bus_stalled 0.0" not in metrics_back:
        problems.append("/metrics still shows a stall after Redis answered again")
    if alert_after is None or alert_after > ALERT_LIMIT_SECONDS:
        problems.append(f"the alert reached node B {alert_after}s after Redis answered")
    print(
        f"\nredis hang: 20 acks in {acks_took:.2f}s (slowest {max(latencies) * 1000:.0f} ms), "
        f"help {help_took * 1000:.0f} ms, alert on node B {alert_after}s after resume"
    )
    assert not problems, "\n".join(problems)


async def test_the_publish_queue_is_bounded_and_alerts_survive_the_hang() -> None:
    """Straight on the bus: while Redis hangs, publishing never waits, the queue holds at most
    its bound (the oldest news goes, counted), and a kept (durable) event published during
    the hang reaches the other node once Redis answers."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    namespace = f"queue-{uuid.uuid4().hex[:8]}"
    with private_redis(port) as redis:
        await wait_port(port)
        metrics = Metrics()
        sender = RedisBus(url, node_id="sender", metrics=metrics, namespace=namespace,
                          op_timeout=0.5, queue_size=100)  # fmt: skip
        receiver = RedisBus(url, node_id="receiver", metrics=Metrics(), namespace=namespace)
        got: list[bytes] = []
        await sender.start()
        await receiver.start()
        try:
            await receiver.subscribe("staff:alerts", got.append, durable=True)
            await asyncio.sleep(0.5)  # the stream reader is in place
            redis.send_signal(signal.SIGSTOP)
            await asyncio.sleep(0.1)
            began = time.monotonic()
            for i in range(1000):
                await sender.publish("room:x", f"news {i}".encode())
            took = time.monotonic() - began
            await sender.publish("staff:alerts", b"the alert", durable=True)
            queued = metrics.bus_queue._value.get()
            dropped = metrics.bus_dropped._value.get()
            await asyncio.sleep(2.0)
            redis.send_signal(signal.SIGCONT)
            resumed = time.monotonic()
            for _ in range(200):
                if b"the alert" in got:
                    break
                await asyncio.sleep(0.05)
            arrived = time.monotonic() - resumed
        finally:
            redis.send_signal(signal.SIGCONT)
            await sender.stop()
            await receiver.stop()
    assert took < 0.5, f"1,000 publishes took {took:.2f}s with Redis hung"
    assert queued <= 100 and dropped >= 900, (queued, dropped)
    assert b"the alert" in got, "the kept event never reached the other node"
    assert arrived < ALERT_LIMIT_SECONDS, arrived
