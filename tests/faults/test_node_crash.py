"""A node is SIGKILLed while its clients send: they resume on the survivor, nothing is lost,
nothing repeats, and an alert raised meanwhile reaches a supervisor who resumes too."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.helpers import (
    Member,
    crisis_alert_problems,
    delivery_problems,
    peerchat_process,
    running_senders,
    settings_for,
    sigkill,
    wait_ready,
)
from tests.support.actors import participant, staff
from tests.support.server import serve
from tests.support.storage import stored_seqs

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_sigkilled_node_loses_nothing_and_repeats_nothing(
    faults_db: str, redis_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    namespace = f"faults-{uuid.uuid4().hex[:8]}"
    env = {
        "PEERCHAT_DATABASE_URL": faults_db,
        "PEERCHAT_REDIS_URL": redis_url,
        "PEERCHAT_REDIS_NAMESPACE": namespace,
        "PEERCHAT_NODE_ID": "node-doomed",
    }
    survivor_settings = settings_for(
        faults_db, redis_url=redis_url, redis_namespace=namespace, node_id="node-survivor"
    )
    members: list[Member] = []
    with peerchat_process(env, tmp_path) as doomed:
        async with serve(survivor_settings) as a, a.client() as http:
            await wait_ready(doomed.base_url, timeout=60)
            # a group with members on both nodes
            worker = await staff(a, http, "peer_worker")
            sup = await staff(a, http, "supervisor")
            created = await worker.post("/api/v1/groups", json={"name": "night owls"})
            assert created.status_code == 201, created.text
            room_id = created.json()["room_id"]
            people = [await participant(a, http) for _ in range(4)]
            for person in people:
                joined = await person.post(f"/api/v1/groups/{room_id}/join")
                assert joined.status_code == 200, joined.text
            on_a = [Member("worker@a", worker.token, worker.id, room_id)]
            on_a += [Member(f"p{i}@a", p.token, p.id, room_id) for i, p in enumerate(people[:2])]
            on_b = [Member(f"p{i}@b", p.token, p.id, room_id) for i, p in enumerate(people[2:])]
            members = on_a + on_b
            for m in on_a:
                await m.connect(a.ws_url, after_seq=0)
            for m in on_b:
                await m.connect(doomed.ws_url, after_seq=0)
            # a supervisor watching alerts on the doomed node
            watcher = Member("supervisor@b", sup.token, sup.id, room_id)
            await watcher.connect(doomed.ws_url, after_seq=0)
            await watcher.conn.send('{"type": "subscribe", "channel": "alerts"}')

            async with (
                running_senders(on_b, interval=0.01, limit=2000),
                running_senders(on_a[:1], interval=0.05, limit=400),
            ):
                await on_b[0].wait_for(
                    lambda: len(on_b[0].books.acks) >= 40, 20, "40 acks before the crash"
                )
                sigkill(doomed.proc)  # mid-stream
                await asyncio.gather(*(m.closed.wait() for m in on_b))
                # during the fault: "I need help now" on the surviving node
                helped = await people[0].post(f"/api/v1/rooms/{room_id}/help")
                assert helped.status_code == 201, helped.text
                await asyncio.sleep(0.5)  # the worker on A keeps talking meanwhile

            sent_before = {m.books.me: len(m.books.sent) for m in on_b}
            unacked_before = {m.books.me: len(m.unacked()) for m in on_b}
            # the doomed node's clients resume on the survivor
            for m in on_b:
                await m.connect(a.ws_url, after_seq=m.books.last_seen, new_segment=True)
                await m.resend_unacked()
            await watcher.connect(a.ws_url, after_seq=watcher.books.last_seen, new_segment=True)
            await watcher.conn.send('{"type": "subscribe", "channel": "alerts"}')

            stored = await stored_seqs(a, room_id)
            total = len(stored)
            for m in members:
                await m.wait_for(lambda m=m: m.books.seen() >= set(range(1, total + 1)), 20,
                                 f"all {total} messages")  # fmt: skip
            await asyncio.sleep(0.3)  # anything extra (a repeat) would arrive now
            for _ in range(100):
                if any(f["type"] == "alert" for f in watcher.other):
                    break
                await asyncio.sleep(0.05)
            for m in [*members, watcher]:
                await m.close()

    problems = delivery_problems(stored, members)
    problems += crisis_alert_problems(watcher, room_id, "the resumed supervisor")
    acked = sum(len(m.books.acks) for m in members)
    print(
        f"\nnode crash: stored {total}, acked {acked}, sent before the crash {sent_before}, "
        f"un-acked then {unacked_before}, {time.monotonic() - started:.1f}s"
    )
    assert not problems, "\n".join(problems)
