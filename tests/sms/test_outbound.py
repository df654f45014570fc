"""Replies go out through the provider's API: retried with backoff, never sent twice, split
into SMS parts without losing a word, and still sent after a restart."""

from __future__ import annotations

from sqlalchemy import select

from app.sms.content import segments
from app.sms.models import SmsOutbox
from tests.sms.conftest import (
    bodies,
    eventually,
    sms_node,
    sms_settings,
    standin,
    texted_and_claimed,
)
from tests.support.processes import free_port
from tests.support.server import serve
from tests.support.wsclient import WsClient

PHONE = "+15550001111"


async def _outbox(node: object, message_id: str) -> list[SmsOutbox]:
    async with node.domain.db.read() as session:  # type: ignore[attr-defined]
        found = await session.execute(
            select(SmsOutbox).where(SmsOutbox.message_id == message_id).order_by(SmsOutbox.part)
        )
        return list(found.scalars())


async def test_errors_are_retried_and_the_reply_is_sent_once(sqlite_url: str) -> None:
    async with sms_node(sqlite_url) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        state = sms.provider.state
        before = state.attempts
        state.plan = [500, 503, 429]
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        ack = await w.say(room_id, "I'm here. Take your time.")
        line = f"{worker.handle}: I'm here. Take your time."
        await eventually(lambda: line in bodies(sms.provider, PHONE), what="the reply")
        assert state.attempts - before == 4  # three refusals, then accepted
        assert bodies(sms.provider, PHONE).count(line) == 1
        rows = await eventually(lambda: _outbox(sms.node, ack["message_id"]))
        row = (await _outbox(sms.node, ack["message_id"]))[0]
        assert (row.status, row.attempts, row.body) == ("sent", 4, None)
        assert rows and row.provider_message_id
        metrics = (await sms.http.get("/metrics")).text
        assert 'peerchat_sms_send_errors_total{result="retried"} 3.0' in metrics
        await w.close()


async def test_a_lost_answer_is_looked_up_not_sent_again(sqlite_url: str) -> None:
    async with sms_node(sqlite_url, sms_send_timeout_seconds=0.5) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        state = sms.provider.state
        state.hang_seconds = 3.0
        state.plan = ["hang"]  # taken, but the answer times out
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        ack = await w.say(room_id, "Still with you.")
        line = f"{worker.handle}: Still with you."

        async def settled() -> bool:
            rows = await _outbox(sms.node, ack["message_id"])
            return bool(rows) and rows[0].status == "sent"

        await eventually(settled, what="the row marked sent")
        row = (await _outbox(sms.node, ack["message_id"]))[0]
        assert row.attempts == 2 and row.maybe_sent  # the second attempt found it
        assert bodies(sms.provider, PHONE).count(line) == 1
        assert row.provider_message_id == next(m["sid"] for m in state.sent if m["body"] == line)
        await w.close()


async def test_a_refused_send_is_not_retried(sqlite_url: str) -> None:
    async with sms_node(sqlite_url) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        state = sms.provider.state
        before = state.attempts
        state.plan = [400]
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        ack = await w.say(room_id, "hello?")

        async def failed() -> bool:
            rows = await _outbox(sms.node, ack["message_id"])
            return bool(rows) and rows[0].status == "failed"

        await eventually(failed, what="the row marked failed")
        assert state.attempts - before == 1
        await w.close()


async def test_long_replies_are_split_into_sms_parts_losing_nothing(sqlite_url: str) -> None:
    async with sms_node(sqlite_url, sms_max_segments=1) as sms:
        worker, room_id = await texted_and_claimed(sms, PHONE)
        w = await WsClient.connect(sms.node.ws_url, worker.token)
        await w.join(room_id)
        words = " ".join(f"word{i}" for i in range(120))  # ~830 GSM characters
        ack = await w.say(room_id, words)
        rows = await eventually(lambda: _outbox(sms.node, ack["message_id"]))
        n = rows[0].parts
        assert n == len(rows) >= 5

        def numbered() -> list[str] | None:
            found = [b for b in bodies(sms.provider, PHONE) if b.startswith("(")]
            return found if len(found) >= n else None

        sent = await eventually(numbered, what="every part")
        assert [s.split(" ", 1)[0] for s in sent] == [f"({i}/{n})" for i in range(1, n + 1)]
        assert all(segments.segment_count(s) == 1 for s in sent)
        rejoined = " ".join(s.split(" ", 1)[1] for s in sent)
        assert rejoined == f"{worker.handle}: {words}"
        # UCS-2: one emoji makes every part 70 units at most
        ack = await w.say(room_id, "💙 " + words[:300])
        urows = await eventually(lambda: _outbox(sms.node, ack["message_id"]))
        assert urows[0].encoding == "UCS-2" and all(r.segments == 1 for r in urows)
        assert len(urows) == len(segments.split(f"{worker.handle}: 💙 {words[:300]}", 1))
        await w.close()


async def test_the_outbox_survives_a_restart(sqlite_url: str) -> None:
    port = free_port()
    async with standin(f"http://127.0.0.1:{port}") as provider:
        settings = sms_settings(sqlite_url, port, provider.base_url)
        async with serve(settings, port=port) as node, node.client() as http:
            from tests.sms.conftest import SmsNode

            sms = SmsNode(node, provider, http)
            worker, room_id = await texted_and_claimed(sms, PHONE)
            await eventually(lambda: any("has joined" in b for b in bodies(provider, PHONE)))
            provider.state.plan = [503] * 1000  # the provider is down
            w = await WsClient.connect(node.ws_url, worker.token)
            await w.join(room_id)
            await w.say(room_id, "Are you safe right now?")
            start = provider.state.attempts
            await eventually(lambda: provider.state.attempts > start, what="an attempt")
            await w.close()
        provider.state.plan = []  # the provider is back; the node restarts
        async with serve(settings, port=port):
            line = f"{worker.handle}: Are you safe right now?"
            await eventually(lambda: line in bodies(provider, PHONE), timeout=20)
            assert bodies(provider, PHONE).count(line) == 1


def test_segments_count_gsm_and_ucs2_as_carriers_do() -> None:
    assert segments.segment_count("a" * 160) == 1
    assert segments.segment_count("a" * 161) == 2
    assert segments.segment_count("a" * 306) == 2 and segments.segment_count("a" * 307) == 3
    assert segments.segment_count("€" * 80) == 1  # extension characters take two septets
    assert segments.segment_count("€" * 81) == 2
    assert segments.encoding("hello") == "GSM-7" and segments.encoding("héllo ✓") == "UCS-2"
    assert segments.segment_count("✓" * 70) == 1 and segments.segment_count("✓" * 71) == 2
    assert segments.segment_count("😀" * 35) == 1  # a surrogate pair each
    text = "x" * 400
    parts = segments.split(text, 1)
    assert "".join(p.split(" ", 1)[1] for p in parts) == text
    assert all(segments.length(p) <= 160 for p in parts)
    assert segments.split("short", 1) == ["short"]


async def test_work_left_by_a_dead_node_is_taken_over_without_repeats(sqlite_url: str) -> None:
    """A node died mid-send (the provider had taken the text) and mid-processing: after the
    lease, another node finds the text at the provider instead of sending it again, and
    processes the received text once."""
    from datetime import timedelta
    from email.utils import format_datetime

    from app.core.clock import utcnow
    from app.sms.models import SmsContact, SmsInbound
    from app.storage.models import Message

    async with sms_node(sqlite_url) as sms:
        _worker, room_id = await texted_and_claimed(sms, PHONE)
        await eventually(lambda: any("has joined" in b for b in bodies(sms.provider, PHONE)))
        state = sms.provider.state
        async with sms.node.domain.db.write() as session:
            contact = (await session.execute(select(SmsContact))).scalar_one()
            past = utcnow() - timedelta(minutes=5)
            session.add(
                SmsOutbox(
                    dedupe_key="test:crash:1", contact_id=contact.id, body="sent before the crash",
                    status="sending", attempts=1, claimed_by="dead-node", claimed_until=past,
                    next_attempt_at=past, created_at=utcnow(),
                )
            )  # fmt: skip
            session.add(
                SmsInbound(
                    provider="twilio", provider_message_id="SM" + "d" * 32,
                    contact_id=contact.id, body="said just before the crash",
                    status="processing", attempts=1, claimed_by="dead-node", claimed_until=past,
                )
            )  # fmt: skip
        taken = {
            "sid": "SM" + "e" * 32, "to": "+15550001111", "from": state.config.number,
            "body": "sent before the crash", "status": "delivered",
            "date_created": format_datetime(utcnow(), usegmt=True), "num_segments": 1,
            "status_callback": None,
        }  # fmt: skip
        state.sent.append(taken)  # the provider had taken it before the node died
        attempts = state.attempts

        async def settled() -> SmsOutbox | None:
            async with sms.node.domain.db.read() as session:
                row = (
                    await session.execute(
                        select(SmsOutbox).where(SmsOutbox.dedupe_key == "test:crash:1")
                    )
                ).scalar_one()
            return row if row.status == "sent" else None

        row = await eventually(settled, what="the row taken over")
        assert row.provider_message_id == taken["sid"] and row.maybe_sent
        assert bodies(sms.provider, PHONE).count("sent before the crash") == 1
        assert state.attempts == attempts  # looked up, never posted again

        async def heard() -> list[str] | None:
            async with sms.node.domain.db.read() as session:
                said = list(
                    (
                        await session.execute(
                            select(Message.body).where(Message.room_id == room_id)
                        )
                    ).scalars()
                )
            return said if "said just before the crash" in said else None

        said = await eventually(heard, what="the text processed")
        assert said.count("said just before the crash") == 1
