"""Redis restarts during a busy conversation on two nodes: readiness reports the bus down and
back, every acked message reaches every member exactly once and in order (the nodes catch up
from storage), and a crisis alert raised during the outage reaches a supervisor on the other
node."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack, ExitStack

import pytest

from tests.faults.helpers import (
    Member,
    crisis_alert_problems,
    delivery_problems,
    running_senders,
    settings_for,
    wait_ready,
)
from tests.support.actors import participant, staff
from tests.support.processes import free_port, private_redis, wait_port
from tests.support.server import serve
from tests.support.storage import stored_seqs

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
OUTAGE_SECONDS = 2.0


async def test_redis_restart_mid_conversation(faults_db: str) -> None:
    started = time.monotonic()
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    namespace = f"faults-{uuid.uuid4().hex[:8]}"
    with ExitStack() as procs:
        first = procs.enter_context(private_redis(port))
        await wait_port(port)
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(
                serve(
                    settings_for(
                        faults_db, redis_url=redis_url, redis_namespace=namespace, node_id="node-a"
                    )
                )
            )
            b = await stack.enter_async_context(
                serve(
                    settings_for(
                        faults_db, redis_url=redis_url, redis_namespace=namespace, node_id="node-b"
                    )
                )
            )
            http = await stack.enter_async_context(a.client())
            worker = await staff(a, http, "peer_worker")
            sup = await staff(a, http, "supervisor")
            room_id = (await worker.post("/api/v1/groups", json={"name": "busy"})).json()["room_id"]
            people = [await participant(a, http) for _ in range(3)]
            for person in people:
                assert (await person.post(f"/api/v1/groups/{room_id}/join")).status_code == 200
            members = [
                Member("worker@a", worker.token, worker.id, room_id),
                Member("p0@a", people[0].token, people[0].id, room_id),
                Member("p1@b", people[1].token, people[1].id, room_id),
                Member("p2@b", people[2].token, people[2].id, room_id),
            ]
            for m in members:
                await m.connect((a if m.books.me.endswith("@a") else b).ws_url, after_seq=0)
            watcher = Member("supervisor@b", sup.token, sup.id, room_id)
            await watcher.connect(b.ws_url, after_seq=0)
            await watcher.conn.send('{"type": "subscribe", "channel": "alerts"}')
            ready = {}

            async with running_senders(members, interval=0.05, limit=400):
                await asyncio.sleep(1.0)
                first.kill()  # Redis goes away mid-traffic
                first.wait(timeout=10)
                outage_at = time.monotonic()
                for node in (a, b):
                    ready[node.base_url] = await wait_ready(
                        node.base_url, status=503, check="bus", value="unavailable", timeout=10
                    )
                # the crisis during the outage: raised on node A, the supervisor is on node B
                helped = await people[0].post(f"/api/v1/rooms/{room_id}/help")
                assert helped.status_code == 201, helped.text
                await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_at)))
                procs.enter_context(private_redis(port))  # back, empty, on the same port
                for node in (a, b):
                    await wait_ready(node.base_url, status=200, timeout=20)
                await asyncio.sleep(1.0)  # busy after the return too

            for m in members:
                await m.wait_for(lambda m=m: not m.unacked(), 20, "every ack")
            stored = await stored_seqs(a, room_id)
            total = len(stored)
            for m in members:
                await m.wait_for(lambda m=m: m.books.seen() >= set(range(1, total + 1)), 20,
                                 f"all {total} messages")  # fmt: skip
            for _ in range(200):  # live, once the bus is back (no reconnect by the supervisor)
                if any(f["type"] == "alert" for f in watcher.other):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            for m in [*members, watcher]:
                await m.close()

    problems = delivery_problems(stored, members)
    for url, body in ready.items():
        if body["status_code"] != 503 or body["checks"]["bus"] != "unavailable":
            problems.append(f"{url} /readyz during the outage: {body}")
    problems += crisis_alert_problems(watcher, room_id, "the supervisor on node B")
    errors = [e for m in members for e in m.books.errors]
    if errors:
        problems.append(f"error frames: {errors[:5]}")
    print(
        f"\nredis restart: stored {total}, acked {sum(len(m.books.acks) for m in members)}, "
        f"{time.monotonic() - started:.1f}s"
    )
    assert not problems, "\n".join(problems)
