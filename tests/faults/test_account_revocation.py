"""Disabling an account on one node closes its sockets on every node within 5 s, also while
Redis hangs (each node checks its own connections against storage; the bus carries nothing for
this), and a socket whose token expires closes within 5 s of expiry on whichever node holds
it."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import websockets

from app.core.enums import Role
from app.core.identity import Principal
from tests.faults.helpers import two_nodes_with_own_redis
from tests.support.actors import participant, staff
from tests.support.wsclient import WsClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
LIMIT_SECONDS = 5.0


async def _close_code(ws: WsClient, timeout: float) -> tuple[int | None, float]:
    began = time.monotonic()
    try:
        while time.monotonic() - began < timeout:
            await asyncio.wait_for(ws.conn.recv(), timeout - (time.monotonic() - began))
    except websockets.ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), time.monotonic() - began
    except TimeoutError:
        pass
    return None, timeout


async def test_disabled_and_expired_sockets_close_on_every_node(faults_db: str) -> None:
    async with (
        two_nodes_with_own_redis(faults_db, "revoke") as (redis, a, b),
        a.client() as http,
    ):
        admin = await staff(a, http, "admin")
        sup = await staff(a, http, "supervisor")
        person = await participant(a, http)
        sockets = {
            "supervisor@a": await WsClient.connect(a.ws_url, sup.token),
            "supervisor@b": await WsClient.connect(b.ws_url, sup.token),
        }
        await sockets["supervisor@b"].send({"type": "subscribe", "channel": "alerts"})
        await sockets["supervisor@b"].expect("subscribed")
        short = a.domain.signer.issue(
            Principal(id=person.id, role=Role.PARTICIPANT, handle=person.handle), 3
        )
        expiring = await WsClient.connect(b.ws_url, short)
        expires_at = time.time() + 3

        redis.send_signal(signal.SIGSTOP)  # nothing here may depend on the bus
        disabled = await admin.post(f"/api/v1/users/{sup.id}/disable")
        assert disabled.status_code == 200, disabled.text
        results = await asyncio.gather(
            *(_close_code(ws, LIMIT_SECONDS + 1) for ws in sockets.values())
        )
        expired_code, _ = await _close_code(expiring, 10)
        expired_late = time.time() - expires_at
        redis.send_signal(signal.SIGCONT)
        for ws in [*sockets.values(), expiring]:
            await ws.close()

    problems = [
        f"{name}: closed with {code} after {took:.1f}s"
        for name, (code, took) in zip(sockets, results, strict=True)
        if code != 4401 or took > LIMIT_SECONDS
    ]
    if expired_code != 4401 or expired_late > LIMIT_SECONDS:
        problems.append(f"expired token: closed with {expired_code}, {expired_late:.1f}s late")
    print(
        "\nrevocation: "
        + ", ".join(f"{n} {took:.1f}s" for n, (_, took) in zip(sockets, results, strict=True))
        + f", expired token closed {expired_late:.1f}s after expiry"
    )
    assert not problems, "\n".join(problems)
