"""What an outside red team broke, each closed and kept closed: a look at a waiting room ends
when a colleague claims it, disabled accounts and expired tokens lose their sockets, "delete my
data" takes every word, lock-outs are per address, sockets per identity are capped, staff reads
are audited, hostile notes are cleaned, and readiness notices a database that cannot write."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.storage.models import AuditEntry
from tests.support.actors import participant, staff, waiting_room
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


async def _audit(server: RunningServer, actor_id: str) -> list[AuditEntry]:
    async with server.domain.db.read() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.actor_id == actor_id))
        return list(rows.scalars())


# ----------------------------------------------------------------------------- 1. claims


async def test_a_claim_ends_other_workers_look_at_the_room(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    person = await participant(server, http)
    room_id = await waiting_room(person, note="can anyone talk")
    looker = await staff(server, http, "peer_worker")
    claimer = await staff(server, http, "peer_worker")
    sup = await staff(server, http, "supervisor")
    ws_person = await WsClient.connect(server.ws_url, person.token)
    ws_looker = await WsClient.connect(server.ws_url, looker.token)
    ws_sup = await WsClient.connect(server.ws_url, sup.token)
    try:
        await ws_person.join(room_id)
        await ws_looker.join(room_id)
        await ws_sup.join(room_id)
        claimed = await claimer.post(f"/api/v1/rooms/{room_id}/claim")
        assert claimed.status_code == 200, claimed.text
        left = await ws_looker.expect("left", room_id=room_id)
        assert left["reason"] == "access_revoked"
        ws_looker.backlog.clear()  # what came before the notice
        await ws_person.say(room_id, "thank you for picking this up")
        await ws_sup.expect("message", room_id=room_id, body="thank you for picking this up")
        later = await ws_looker.quiet(0.5)
        assert not [f for f in later if f.get("room_id") == room_id], later
        # Nor can the looker read it over HTTP any more.
        history = await looker.get(f"/api/v1/rooms/{room_id}/messages")
        assert history.status_code == 403
    finally:
        for ws in (ws_person, ws_looker, ws_sup):
            await ws.close()
