"""Several nodes on PostgreSQL + Redis behave as one service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.support import services
from tests.support.actors import claimed_room, participant, staff, waiting_room
from tests.support.processes import free_port, private_redis, wait_port
from tests.support.server import RunningServer, migrate, node_settings, serve
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SECRET = "cluster-test-secret-0123456789-abcdefghij"


@pytest.fixture(scope="module")
async def cluster_db() -> AsyncIterator[str]:
    url = await services.create_postgres_database()
    await migrate(url)
    yield url
    await services.drop_postgres_database(url)


def _cluster_settings(db: str, redis_url: str, namespace: str, node: str, **extra: Any) -> Any:
    return node_settings(
        db,
        redis_url=redis_url,
        redis_namespace=namespace,
        node_id=node,
        secret_key=SECRET,
        **extra,
    )


async def _two_nodes(
    stack: AsyncExitStack, db: str, redis_url: str, **extra: Any
) -> tuple[RunningServer, RunningServer]:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    a = await stack.enter_async_context(
        serve(_cluster_settings(db, redis_url, namespace, "node-a", **extra))
    )
    b = await stack.enter_async_context(
        serve(_cluster_settings(db, redis_url, namespace, "node-b", **extra))
    )
    return a, b


async def test_two_nodes_behave_as_one(cluster_db: str, redis_url: str) -> None:
    async with AsyncExitStack() as stack:
        a, b = await _two_nodes(stack, cluster_db, redis_url)
        http = await stack.enter_async_context(a.client())
        person, worker, room_id = await claimed_room(a, http)
        p = await WsClient.connect(a.ws_url, person.token)  # participant on node A
        w = await WsClient.connect(b.ws_url, worker.token)  # peer worker on node B
        await p.join(room_id)
        await w.join(room_id)
        # presence spans the nodes
        seen = await p.expect("presence", room_id=room_id)
        while sorted(seen["online"]) != sorted([person.handle, worker.handle]):
            seen = await p.expect("presence", room_id=room_id)
        # a message sent on A reaches B, and back
        ack = await p.say(room_id, "hello from node A")
        got = await w.expect("message", room_id=room_id)
        assert (got["seq"], got["body"]) == (ack["seq"], "hello from node A")
        reply = await w.say(room_id, "hello from node B")
        assert (await p.expect("message", room_id=room_id))["seq"] == reply["seq"]
        # typing crosses nodes too
        await w.send({"type": "typing", "room_id": room_id})
        assert (await p.expect("typing", room_id=room_id))["handle"] == worker.handle
        # the worker drops off B and resumes on A with exactly what was missed
        last = reply["seq"]
        await w.close()
        missed = [await p.say(room_id, f"while you were away {i}") for i in range(3)]
        w2 = await WsClient.connect(a.ws_url, worker.token)
        await w2.join(room_id, after_seq=last)
        replay = await w2.messages(room_id, 3)
        assert [m["seq"] for m in replay] == [m["seq"] for m in missed]
        assert not [f for f in await w2.quiet() if f["type"] == "message"]
        # readiness on both nodes
        for node in (a, b):
            async with node.client() as c:
                ready = await c.get("/readyz")
                assert ready.status_code == 200 and ready.json()["checks"]["bus"] == "ok"
        await p.close()
        await w2.close()


async def test_alerts_reach_supervisors_on_every_node(cluster_db: str, redis_url: str) -> None:
    async with AsyncExitStack() as stack:
        a, b = await _two_nodes(stack, cluster_db, redis_url)
        http = await stack.enter_async_context(a.client())
        person = await participant(a, http)
        room_id = await waiting_room(person)
        sup = await staff(a, http, "supervisor")
        s = await WsClient.connect(b.ws_url, sup.token)
        await s.send({"type": "subscribe", "channel": "alerts"})
        await s.expect("subscribed")
        assert (await person.post(f"/api/v1/rooms/{room_id}/help")).status_code == 201
        alert = await s.expect("alert")
        while alert["alert"]["room_id"] != room_id:
            alert = await s.expect("alert")
        assert alert["alert"]["severity"] == "crisis"
        await s.close()


async def test_redis_outage_keeps_local_chat_and_catches_up(
    cluster_db: str, redis_url: str
) -> None:
    port = free_port()
    private = f"redis://127.0.0.1:{port}/0"
    first = private_redis(port)
    first.__enter__()
    try:
        await wait_port(port)
        async with AsyncExitStack() as stack:
            a, b = await _two_nodes(stack, cluster_db, private)
            http = await stack.enter_async_context(a.client())
            person, worker, room_id = await claimed_room(a, http)
            p = await WsClient.connect(a.ws_url, person.token)
            w_local = await WsClient.connect(a.ws_url, worker.token)
            w_remote = await WsClient.connect(b.ws_url, worker.token)
            for client in (p, w_local, w_remote):
                await client.join(room_id)
            ack = await p.say(room_id, "before the outage")
            assert (await w_remote.expect("message", room_id=room_id))["seq"] == ack["seq"]
            assert (await w_local.expect("message", room_id=room_id))["seq"] == ack["seq"]

            first.__exit__(None, None, None)  # Redis goes away
            for _ in range(100):
                if (await http.get("/readyz")).status_code == 503:
                    break
                await asyncio.sleep(0.1)
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["bus"] == "unavailable"
            during = [await p.say(room_id, f"during the outage {i}") for i in range(3)]
            local = await w_local.messages(room_id, 3)
            assert [m["seq"] for m in local] == [d["seq"] for d in during]

            second = private_redis(port)  # Redis is back, empty
            second.__enter__()
            try:
                caught_up = await w_remote.messages(room_id, 3, timeout=20)
                assert [m["seq"] for m in caught_up] == [d["seq"] for d in during]
                after = await p.say(room_id, "after the outage")
                assert (await w_remote.expect("message", room_id=room_id))["seq"] == after["seq"]
                for _ in range(100):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                assert (await http.get("/readyz")).status_code == 200
            finally:
                for client in (p, w_local, w_remote):
                    await client.close()
                second.__exit__(None, None, None)
    finally:
        first.__exit__(None, None, None)


async def test_a_crashed_nodes_users_drop_out_of_presence(
    cluster_db: str, redis_url: str, tmp_path: Any
) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    ttl = 6
    port = free_port()
    env = {
        **os.environ,
        "PEERCHAT_DATABASE_URL": cluster_db,
        "PEERCHAT_REDIS_URL": redis_url,
        "PEERCHAT_REDIS_NAMESPACE": namespace,
        "PEERCHAT_SECRET_KEY": SECRET,
        "PEERCHAT_NODE_ID": "node-doomed",
        "PEERCHAT_PRESENCE_TTL_SECONDS": str(ttl),
        "PEERCHAT_MODEL_ENABLED": "false",
        "PEERCHAT_ADDRESS_RATE_LIMITS": "off",
        "PEERCHAT_LOG_LEVEL": "warning",
    }
    doomed = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        settings = _cluster_settings(
            cluster_db, redis_url, namespace, "node-survivor", presence_ttl_seconds=ttl
        )
        async with serve(settings) as a, a.client() as http:
            await wait_port(port, timeout=60)
            person, worker, room_id = await claimed_room(a, http)
            p = await WsClient.connect(a.ws_url, person.token)
            w = await WsClient.connect(f"ws://127.0.0.1:{port}/ws", worker.token)
            await p.join(room_id)
            await w.join(room_id)
            seen = await p.expect("presence", room_id=room_id)
            while worker.handle not in seen["online"]:
                seen = await p.expect("presence", room_id=room_id)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            loop = asyncio.get_running_loop()
            started = loop.time()
            gone = await p.expect("presence", room_id=room_id, timeout=30)
            while worker.handle in gone["online"]:
                gone = await p.expect("presence", room_id=room_id, timeout=30)
            assert gone["online"] == [person.handle]
            assert loop.time() - started < 30
            await p.close()
    finally:
        doomed.kill()
        doomed.wait(timeout=10)
