"""STOP, START, HELP, HELP NOW and the "reply 1-5" check-in, as a phone sends them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.sms import inbound
from app.sms.content.keywords import Keyword, classify, mood
from app.sms.models import SmsContact
from app.sms.outbound import CHECKIN_PROMPT
from app.storage.models import CheckIn, Message, Room
from tests.sms.conftest import bodies, eventually, sms_node, sms_rooms, texted_and_claimed
from tests.support.actors import staff
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient

PHONE = "+15550002222"


async def _contact(node: RunningServer) -> SmsContact:
    async with node.domain.db.read() as session:
        contact: SmsContact = (await session.execute(select(SmsContact))).scalar_one()
        return contact


async def _room(node: RunningServer, room_id: str) -> Room:
    async with node.domain.db.read() as session:
        room = await session.get(Room, room_id)
        assert room is not None
        return room


async def test_stop_ends_the_conversation_and_every_text_until_start(fresh_db: str) -> None:
    async with sms_node(fresh_db) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        sms.provider.state.plan = [503] * 1000  # what is queued when STOP arrives...
        await w.say(room_id, "one more thing")
        await asyncio.sleep(0.3)
        await sms.provider.state.deliver_inbound(sender=PHONE, body=" Stop. ")
        closed = await w.expect("room_closed", room_id=room_id, timeout=10)
        assert closed["room_id"] == room_id
        assert (await _room(sms.node, room_id)).status == "closed"
        contact = await _contact(sms.node)
        assert contact.opted_out and contact.number_sealed is None
        sms.provider.state.plan = []  # ...is never sent, even once the provider is back
        count = len(bodies(sms.provider, PHONE))
        await asyncio.sleep(1.5)
        assert len(bodies(sms.provider, PHONE)) == count
        assert not any("one more thing" in b for b in bodies(sms.provider, PHONE))
        # START: texts again, and the next text opens a new request
        await sms.provider.state.deliver_inbound(sender=PHONE, body="start")
        await eventually(lambda: inbound.RESTARTED_TEXT in bodies(sms.provider, PHONE))
        await sms.provider.state.deliver_inbound(sender=PHONE, body="I'm back")
        await eventually(lambda: inbound.STARTED_TEXT in bodies(sms.provider, PHONE)[count:])
        rooms = await sms_rooms(sms.node)
        assert len(rooms) == 2 and rooms[-1].status == "waiting"
        await w.close()


async def test_a_text_after_stop_is_heard_but_nothing_is_sent(sqlite_url: str) -> None:
    async with sms_node(sqlite_url) as sms:
        state = sms.provider.state
        await state.deliver_inbound(sender=PHONE, body="hello")
        await eventually(lambda: bodies(sms.provider, PHONE), what="the acknowledgement")
        await state.deliver_inbound(sender=PHONE, body="STOP")
        await eventually(lambda: _stopped(sms.node))
        sent = len(bodies(sms.provider, PHONE))
        await state.deliver_inbound(sender=PHONE, body="please, I need to talk")
        rooms = await eventually(lambda: _rooms_with(sms.node, 2))

        async def said() -> list[str] | None:
            async with sms.node.domain.db.read() as session:
                found = list(
                    (
                        await session.execute(
                            select(Message.body).where(Message.room_id == rooms[-1].id)
                        )
                    ).scalars()
                )
            return found if inbound.PAUSED_NOTICE in found else None

        # staff are told why replies will not arrive
        assert "please, I need to talk" in await eventually(said, what="the notice")
        await asyncio.sleep(1.0)
        assert len(bodies(sms.provider, PHONE)) == sent
        assert (await _contact(sms.node)).number_sealed is None


async def _stopped(node: RunningServer) -> bool:
    return (await _contact(node)).opted_out


async def _rooms_with(node: object, n: int) -> list[Room] | None:
    found = await sms_rooms(node)  # type: ignore[arg-type]
    return found if len(found) >= n else None


async def test_help_answers_with_resources_and_help_now_alerts_a_supervisor(
    sqlite_url: str,
) -> None:
    async with sms_node(sqlite_url) as sms:
        help_text = sms.node.app.state.sms.help_text
        assert "988" in help_text and "Samaritans" in help_text  # the page's helplines
        await sms.provider.state.deliver_inbound(sender=PHONE, body="HELP")
        await eventually(lambda: help_text in bodies(sms.provider, PHONE))
        supervisor = await staff(sms.node, sms.http, "supervisor")
        s = await WsClient.connect(sms.node.ws_url, supervisor.token)
        await s.send({"type": "subscribe", "channel": "alerts"})
        await s.expect("subscribed")
        await sms.provider.state.deliver_inbound(sender=PHONE, body="help now")
        alert = await s.expect("alert", timeout=10)
        room_id = (await sms_rooms(sms.node))[0].id
        assert alert["alert"]["room_id"] == room_id
        assert alert["alert"]["severity"] == "crisis"
        crisis_text = sms.node.app.state.sms.crisis_text
        await eventually(lambda: crisis_text in bodies(sms.provider, PHONE))
        await asyncio.sleep(1.0)  # one text, though both the alert and the keyword ask for it
        assert bodies(sms.provider, PHONE).count(crisis_text) == 1
        assert (await _room(sms.node, room_id)).risk_level == "crisis"
        # asked again while the alert is open: answered again
        await sms.provider.state.deliver_inbound(sender=PHONE, body="URGENT")
        await eventually(lambda: bodies(sms.provider, PHONE).count(crisis_text) == 2)
        await s.close()


async def test_mood_check_in_by_reply(sqlite_url: str) -> None:
    async with sms_node(sqlite_url) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        closed = await worker.post(f"/api/v1/rooms/{room_id}/close", json={})
        assert closed.status_code == 200
        await eventually(lambda: CHECKIN_PROMPT in bodies(sms.provider, PHONE))
        await sms.provider.state.deliver_inbound(sender=PHONE, body="4")
        await eventually(lambda: inbound.CHECKIN_TEXT in bodies(sms.provider, PHONE))
        async with sms.node.domain.db.read() as session:
            found = (await session.execute(select(CheckIn))).scalar_one()
        assert (found.room_id, found.phase, found.mood) == (room_id, "end", 4)
        assert len(await sms_rooms(sms.node)) == 1  # the answer opened no new request


def test_keywords_are_whole_texts() -> None:
    assert classify("STOP") is Keyword.STOP and classify(" stop! ") is Keyword.STOP
    assert classify("I want to stop feeling like this") is Keyword.NONE
    assert classify("Help now") is Keyword.HELP_NOW and classify("help") is Keyword.HELP
    assert classify("unstop") is Keyword.START
    assert mood("4") == 4 and mood(" 5. ") == 5 and mood("6") is None and mood("45") is None


async def test_delete_by_text_deletes_the_words_and_the_number(sqlite_url: str) -> None:
    async with sms_node(sqlite_url) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE, "something very private")
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        await sms.provider.state.deliver_inbound(sender=PHONE, body="Delete my data")
        await w.expect("room_closed", room_id=room_id, timeout=10)
        await eventually(lambda: inbound.DELETED_TEXT in bodies(sms.provider, PHONE))
        async with sms.node.domain.db.read() as session:
            assert (await session.execute(select(SmsContact))).first() is None
            said = list(
                (
                    await session.execute(select(Message.body).where(Message.room_id == room_id))
                ).scalars()
            )
        assert "something very private" not in said
        assert "Delete my data" not in said
        await w.close()
