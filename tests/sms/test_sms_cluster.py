"""SMS on two nodes (PostgreSQL + Redis): a crisis texted to one node alerts a supervisor on
the other, and replies sent through both nodes' outbox loops go out exactly once each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.sms.conftest import bodies, eventually, sms_settings, standin
from tests.sms.test_number_privacy import assert_no_number, dump
from tests.support import services
from tests.support.actors import staff
from tests.support.processes import free_port
from tests.support.server import migrate, serve
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SECRET = "sms-cluster-test-secret-0123456789-abcdefghij"
PHONE = "+15550134679"


@pytest.fixture(scope="module")
async def cluster_db() -> AsyncIterator[str]:
    url = await services.create_postgres_database()
    await migrate(url)
    yield url
    await services.drop_postgres_database(url)


async def test_a_crisis_by_sms_alerts_a_supervisor_on_another_node(
    cluster_db: str, redis_url: str, tmp_path: Path
) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    no_weights = tmp_path / "no-weights"  # the model fails to load; the crisis lexicon works
    no_weights.mkdir()
    port_a, port_b = free_port(), free_port()
    async with AsyncExitStack() as stack:
        provider = await stack.enter_async_context(standin(f"http://127.0.0.1:{port_a}"))

        def settings(port: int, node: str) -> Any:
            return sms_settings(
                cluster_db, port, provider.base_url, redis_url=redis_url,
                redis_namespace=namespace, node_id=node, secret_key=SECRET,
                model_enabled=True, model_weights_dir=str(no_weights),
            )  # fmt: skip

        a = await stack.enter_async_context(serve(settings(port_a, "node-a"), port=port_a))
        b = await stack.enter_async_context(serve(settings(port_b, "node-b"), port=port_b))
        http = await stack.enter_async_context(b.client())
        supervisor = await staff(b, http, "supervisor")
        s = await WsClient.connect(b.ws_url, supervisor.token)
        await s.send({"type": "subscribe", "channel": "alerts"})
        await s.expect("subscribed")
        status, _, _ = await provider.state.deliver_inbound(  # the phone texts node A
            sender=PHONE, body="I can't do this anymore, I want to kill myself"
        )
        assert status == 200
        alert = await s.expect("alert", timeout=10)
        assert alert["alert"]["severity"] == "crisis"
        room_id = alert["alert"]["room_id"]
        queue = (await supervisor.get("/api/v1/queue")).json()["rooms"]
        entry = next(r for r in queue if r["room_id"] == room_id)
        assert entry["channel"] == "sms" and entry["risk"]["level"] == "crisis"
        # the person gets words and the crisis resources, once, though both nodes heard the alert
        crisis_text = a.app.state.sms.crisis_text
        await eventually(lambda: crisis_text in bodies(provider, PHONE), what="crisis resources")
        # a peer worker on node B answers; both nodes' senders compete for the outbox
        worker = await staff(b, http, "peer_worker")
        assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
        w = await WsClient.connect(b.ws_url, worker.token)
        await w.join(room_id)
        lines = [f"reply {i}: I'm here with you" for i in range(12)]
        for line in lines:
            await w.say(room_id, line)
        expected = [f"{worker.handle}: {line}" for line in lines]
        await eventually(
            lambda: all(e in bodies(provider, PHONE) for e in expected), timeout=30, what="replies"
        )
        await asyncio.sleep(1.0)
        sent = bodies(provider, PHONE)
        assert len(sent) == len(set(sent)), "a text was sent twice"
        assert [x for x in sent if x in expected] == expected  # in order
        assert sent.count(crisis_text) == 1
        assert_no_number(await dump(a), "the PostgreSQL database")
        await s.close()
        await w.close()
