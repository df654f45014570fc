"""PostgreSQL restarts under a node: sends fail visibly while it is away (no ack, nothing
claimed stored), readiness says so, and afterwards chat resumes with gapless seqs and nothing
acked before is lost."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from tests.faults.helpers import (
    Member,
    PrivatePostgres,
    delivery_problems,
    settings_for,
    wait_ready,
)
from tests.support.actors import claimed_room
from tests.support.server import migrate, serve
from tests.support.storage import stored_seqs

pytestmark = [pytest.mark.postgres]
RESUMABLE = {1001, 1011, 1012, 1013, 4408}  # close codes a client reconnects and resumes after


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


async def _send_all(member: Member, count: int, label: str) -> list[str]:
    return [await member.send(f"{label} {i}") for i in range(count)]


async def test_postgres_restart_fails_sends_visibly_then_resumes(
    private_pg: PrivatePostgres,
) -> None:
    started = time.monotonic()
    await migrate(private_pg.url)
    async with serve(settings_for(private_pg.url)) as a, a.client() as http:
        person, worker, room_id = await claimed_room(a, http)
        p = Member("participant", person.token, person.id, room_id)
        w = Member("worker", worker.token, worker.id, room_id)
        for m in (p, w):
            await m.connect(a.ws_url, after_seq=0)
        await _send_all(p, 10, "before")
        await _send_all(w, 10, "before")
        for m in (p, w):
            await m.wait_for(lambda m=m: not m.unacked(), 10, "acks before the outage")
        acked_before = {cid: seq for m in (p, w) for cid, seq in m.books.acks.items()}

        await asyncio.to_thread(private_pg.stop, "fast")
        outage = await wait_ready(a.base_url, status=503, check="database", value="unavailable",
                                  timeout=15)  # fmt: skip
        assert outage["checks"]["database"] == "unavailable", outage

        # sends during the outage: an error frame each, never an ack
        errors_before = len(p.books.errors)
        during = await _send_all(p, 5, "during")
        await p.wait_for(
            lambda: len(p.books.errors) - errors_before >= 5 or p.closed.is_set(), 30,
            "an error frame for each send during the outage",
        )  # fmt: skip
        assert not [cid for cid in during if cid in p.books.acks], "acked with the database down"
        codes = {e["code"] for e in p.books.errors[errors_before:]}
        assert codes <= {"internal", "unavailable"}, p.books.errors
        if p.closed.is_set():
            code = p.conn.close_code
            assert code in RESUMABLE, f"closed with {code}: not one a client resumes after"

        await asyncio.to_thread(private_pg.start)
        await wait_ready(a.base_url, status=200, timeout=30)
        if p.closed.is_set():
            await p.connect(a.ws_url, after_seq=p.books.last_seen, new_segment=True)
        # the failed sends are resent with the same ids (the protocol's rule for un-acked ones)
        await p.resend_unacked(timeout=20)
        await _send_all(p, 5, "after")
        await _send_all(w, 5, "after")
        for m in (p, w):
            await m.wait_for(lambda m=m: not m.unacked(), 20, "acks after the restart")
        stored = await stored_seqs(a, room_id)
        total = len(stored)
        for m in (p, w):
            await m.wait_for(lambda m=m: m.books.seen() >= set(range(1, total + 1)), 20,
                             f"all {total} messages")  # fmt: skip
        await asyncio.sleep(0.3)
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        for m in (p, w):
            await m.close()

    problems = delivery_problems(stored, [p, w])
    by_cid = {cid: seq for seq, cid in stored}
    lost = {cid: seq for cid, seq in acked_before.items() if by_cid.get(cid) != seq}
    if lost:
        problems.append(f"acked before the outage, then lost: {lost}")
    print(
        f"\npostgres restart: stored {total}, errors during outage "
        f"{json.dumps([e['code'] for e in p.books.errors])}, {time.monotonic() - started:.1f}s"
    )
    assert not problems, "\n".join(problems)
