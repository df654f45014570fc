"""The provider's webhooks: signatures, replays, the conversation a text opens or joins."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.sms.models import SmsInbound, SmsOutbox
from app.sms.twilio import signature
from app.storage.models import Message, Room
from tests.sms.conftest import AUTH_TOKEN, SmsNode, eventually, sms_node
from tests.support.actors import staff
from tests.support.wsclient import WsClient

PHONE = "+15557654321"


async def _rooms(node: SmsNode) -> list[Room]:
    async with node.node.domain.db.read() as session:
        return list((await session.execute(select(Room).where(Room.channel == "sms"))).scalars())


async def _messages(node: SmsNode, room_id: str) -> list[Message]:
    async with node.node.domain.db.read() as session:
        found = await session.execute(
            select(Message).where(Message.room_id == room_id).order_by(Message.seq)
        )
        return list(found.scalars())


async def test_signed_text_opens_a_request_the_worker_sees_as_sms(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        status, answer, _ = await sms.provider.state.deliver_inbound(
            sender=PHONE, body="hi, I\u202e can't sleep again"
        )
        assert status == 200
        assert answer == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
        rooms = await eventually(lambda: _rooms(sms), what="a room")
        assert len(rooms) == 1 and rooms[0].status == "waiting"
        room_id = rooms[0].id
        first = await eventually(lambda: _messages(sms, room_id), what="the note")
        assert first[0].body == "hi, I can't sleep again"  # cleaned as a message body
        assert first[0].sender_role == "participant"
        worker = await staff(sms.node, sms.http, "peer_worker")
        queue = (await worker.get("/api/v1/queue")).json()["rooms"]
        assert [(r["room_id"], r["channel"]) for r in queue] == [(room_id, "sms")]
        assert (await worker.post(f"/api/v1/rooms/{room_id}/claim")).status_code == 200
        summary = (await worker.get(f"/api/v1/rooms/{room_id}")).json()
        assert summary["channel"] == "sms"
        # the service's acknowledgement, then the worker's joining, went out by SMS
        await eventually(lambda: len(sms.provider.to(PHONE)) >= 2, what="texts out")
        # a later text joins the same conversation, live for the worker
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        await sms.provider.state.deliver_inbound(sender=PHONE, body="are you there?")
        got = await w.expect("message", room_id=room_id)
        assert got["body"] == "are you there?" and got["sender"]["role"] == "participant"
        assert len(await _rooms(sms)) == 1
        await w.close()


async def test_missing_or_bad_signatures_are_refused(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        url = sms.node.base_url + "/sms/twilio/inbound"
        form = {"MessageSid": "SM" + "1" * 32, "From": PHONE, "Body": "hello", "To": "+1"}
        async with httpx.AsyncClient() as client:
            missing = await client.post(url, data=form)
            assert missing.status_code == 403
            assert missing.json()["error"]["code"] == "forbidden"
            wrong_key = signature("not-the-token", url, list(form.items()))
            bad = await client.post(url, data=form, headers={"X-Twilio-Signature": wrong_key})
            assert bad.status_code == 403
            # signed, then altered in flight
            good = signature(AUTH_TOKEN, url, list(form.items()))
            altered = await client.post(
                url, data={**form, "Body": "changed"}, headers={"X-Twilio-Signature": good}
            )
            assert altered.status_code == 403
            # signed for another URL (a replay against another endpoint)
            other = signature(AUTH_TOKEN, url.replace("inbound", "status"), list(form.items()))
            assert (
                await client.post(url, data=form, headers={"X-Twilio-Signature": other})
            ).status_code == 403
            status_url = sms.node.base_url + "/sms/twilio/status"
            assert (await client.post(status_url, data=form)).status_code == 403
            # the same request, signed properly, is accepted
            ok = await client.post(url, data=form, headers={"X-Twilio-Signature": good})
            assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/xml")
            metrics = (await client.get(sms.node.base_url + "/metrics")).text
            assert "peerchat_sms_webhooks_refused_total 5.0" in metrics
        async with sms.node.domain.db.read() as session:
            stored = (await session.execute(select(func.count()).select_from(SmsInbound))).one()
        assert stored[0] == 1


async def test_the_same_message_sid_twice_stores_one_message(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        state = sms.provider.state
        _, _, sid = await state.deliver_inbound(sender=PHONE, body="first words")
        room = (await eventually(lambda: _rooms(sms), what="a room"))[0]
        await eventually(lambda: _messages(sms, room.id), what="the first message")
        for _ in range(3):  # the provider retrying a webhook it thinks failed
            status, _, again = await state.deliver_inbound(
                sender=PHONE, body="first words", sid=sid
            )
            assert status == 200 and again == sid
        _, _, second = await state.deliver_inbound(sender=PHONE, body="second words")
        await eventually(
            lambda: _two(sms, room.id),
            what="the second message",
        )
        bodies = [m.body for m in await _messages(sms, room.id)]
        assert bodies == ["first words", "second words"]
        async with sms.node.domain.db.read() as session:
            inbound = (await session.execute(select(func.count()).select_from(SmsInbound))).one()
            replies = (await session.execute(select(func.count()).select_from(SmsOutbox))).one()
        assert inbound[0] == 2
        assert replies[0] == 1  # one acknowledgement, not one per replay
        assert second != sid


async def _two(sms: SmsNode, room_id: str) -> bool:
    return len(await _messages(sms, room_id)) >= 2


async def test_delivery_reports_are_recorded(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        await sms.provider.state.deliver_inbound(sender=PHONE, body="hello")
        sent = await eventually(lambda: sms.provider.to(PHONE), what="the acknowledgement")

        async def delivered() -> bool:
            async with sms.node.domain.db.read() as session:
                row = (
                    await session.execute(
                        select(SmsOutbox).where(SmsOutbox.provider_message_id == sent[0]["sid"])
                    )
                ).scalar_one_or_none()
            return row is not None and row.delivery_status == "delivered"

        await eventually(delivered, what="the delivery report")
        assert all(c["answer"] == 200 for c in sms.provider.state.callbacks)
