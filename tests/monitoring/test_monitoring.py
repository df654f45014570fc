"""Every message scored; rooms, the queue and supervisors told; participants never see scores.

These run the real model (loaded once per server) behind a real server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.monitoring.context import FAREWELL_AFTER_DISTRESS
from app.storage.models import Message, Room
from tests.support.actors import claimed_room, participant, staff, waiting_room
from tests.support.server import RunningServer, migrate, node_settings, serve
from tests.support.wsclient import WsClient

SCORE_FIELDS = {"risk", "sentiment", "shift", "emotions", "risk_level", "sentiment_score"}
CRISIS = "I have the pills ready and I'm going to take them all tonight"


async def wait_ready(http: httpx.AsyncClient, timeout: float = 120) -> None:
    for _ in range(int(timeout / 0.2)):
        if (await http.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the model did not load")


@pytest.fixture(scope="module")
async def scored(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('scored')}/peerchat.db"
    await migrate(url)
    async with serve(node_settings(url, model_enabled=True, alert_ack_seconds=2)) as node:
        async with node.client() as http:
            await wait_ready(http)
        yield node


def _leaks(frame: Any) -> set[str]:
    """Score fields anywhere in a frame."""
    if isinstance(frame, dict):
        found = SCORE_FIELDS & set(frame)
        for value in frame.values():
            found |= _leaks(value)
        return found
    if isinstance(frame, list):
        return set().union(*(_leaks(v) for v in frame)) if frame else set()
    return set()


async def _alert_for(client: WsClient, room_id: str, timeout: float = 10) -> dict[str, Any]:
    """The next alert frame about this room (others' re-sent alerts are skipped)."""
    frame = await _alert_frame(client, timeout, room_id=room_id)
    alert: dict[str, Any] = frame["alert"]
    return alert


async def _alert_frame(client: WsClient, timeout: float, **match: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.expect("alert", timeout=max(0.1, deadline - loop.time()))
        if all(frame["alert"].get(k) == v for k, v in match.items()):
            return frame


async def test_crisis_message_alerts_and_staff_see_risk(scored: RunningServer) -> None:
    async with scored.client() as http:
        person, worker, room_id = await claimed_room(scored, http)
        supervisor = await staff(scored, http, "supervisor")
        watcher = await staff(scored, http, "peer_worker")
        sup = await WsClient.connect(scored.ws_url, supervisor.token)
        await sup.send({"type": "subscribe", "channel": "alerts"})
        await sup.expect("subscribed")
        queue = await WsClient.connect(scored.ws_url, watcher.token)
        await queue.send({"type": "subscribe", "channel": "queue"})
        await queue.expect("subscribed")
        p = await WsClient.connect(scored.ws_url, person.token)
        w = await WsClient.connect(scored.ws_url, worker.token)
        await p.join(room_id)
        await w.join(room_id)
        ack = await p.say(room_id, CRISIS)

        alert = await _alert_for(sup, room_id)
        assert alert["severity"] == "crisis" and alert["message_seq"] == ack["seq"]
        assert alert["excerpt"] == CRISIS and alert["reason"].startswith("crisis language")
        # plain words for staff; quoted text is the participant's own; model evidence apart
        assert all(q in CRISIS for q in alert["reason"].split('"')[1::2])
        assert alert["evidence"] and all("source" in e for e in alert["evidence"])
        risk = await w.expect("room_risk", room_id=room_id, timeout=10)
        assert risk["seq"] == ack["seq"] and risk["risk"]["level"] == "crisis"
        assert risk["risk"]["reasons"] and set(risk["sentiment"]) == {"label", "score"}
        assert risk["sentiment"]["label"] in ("negative", "neutral", "positive")
        assert -1 <= risk["sentiment"]["score"] <= 1
        assert set(risk["shift"]) >= {"detected", "delta"}
        # the queue's watchers learn of it too
        await queue.expect("room_risk", room_id=room_id, timeout=10)
        # a peer worker who is not assigned sees only waiting rooms; a supervisor sees it first
        listed = (await supervisor.get("/api/v1/queue")).json()["rooms"]
        assert listed[0]["room_id"] == room_id and listed[0]["risk"]["level"] == "crisis"

        # the participant got their ack, the worker's messages, presence: and no scores at all
        await w.say(room_id, "I'm here with you. Are you safe right now?")
        seen = [f for f in await p.quiet(1.0)]
        assert any(f["type"] == "message" for f in seen)
        assert not [f for f in seen if f["type"] in ("room_risk", "alert", "queue_update")]
        assert not set().union(*(_leaks(f) for f in seen))
        history = (await person.get(f"/api/v1/rooms/{room_id}/messages")).json()
        assert not _leaks(history)
        summary = (await person.get(f"/api/v1/rooms/{room_id}")).json()
        assert not _leaks(summary)

        async with scored.domain.db.read() as session:
            stored = (
                await session.execute(
                    select(Message).where(Message.room_id == room_id, Message.seq == ack["seq"])
                )
            ).scalar_one()
            room = await session.get(Room, room_id)
        assert stored.scored_at is not None and stored.risk_level == "crisis"
        assert stored.sentiment_label == risk["sentiment"]["label"] and stored.emotions
        assert room is not None and room.risk_level == "crisis"

        # resolving the alert never lowers the room's level: it marks it reviewed
        resolved = await supervisor.post(
            f"/api/v1/alerts/{alert['alert_id']}/resolve",
            json={"notes": "spoke with them; safety plan made"},
        )
        assert resolved.status_code == 200
        async with scored.domain.db.read() as session:
            room = await session.get(Room, room_id)
        assert room is not None and room.risk_level == "crisis"
        assert room.risk_reviewed_by == supervisor.id and room.risk_reviewed_at is not None
        for client in (sup, queue, p, w):
            await client.close()


GOODBYE = "ok thanks for the chat, bye"


async def _risk_of(client: WsClient, room_id: str, seq: int) -> dict[str, Any]:
    while True:
        frame = await client.expect("room_risk", room_id=room_id, timeout=20)
        if frame["seq"] == seq:
            risk: dict[str, Any] = frame["risk"]
            return risk


async def test_a_goodbye_after_distress_is_a_crisis(scored: RunningServer) -> None:
    """The same goodbye: ordinary in a calm chat, a crisis after distress in the same one."""
    async with scored.client() as http:
        calm_person, calm_worker, calm_room = await claimed_room(scored, http)
        person, worker, room_id = await claimed_room(scored, http)
        supervisor = await staff(scored, http, "supervisor")
        sup = await WsClient.connect(scored.ws_url, supervisor.token)
        await sup.send({"type": "subscribe", "channel": "alerts"})
        await sup.expect("subscribed")
        clients = []
        for who, room in ((calm_person, calm_room), (calm_worker, calm_room),
                          (person, room_id), (worker, room_id)):  # fmt: skip
            c = await WsClient.connect(scored.ws_url, who.token)
            await c.join(room)
            clients.append(c)
        cp, cw, p, w = clients

        ack = await cp.say(calm_room, "had a nice walk today, the weather was lovely")
        assert (await _risk_of(cw, calm_room, ack["seq"]))["level"] == "none"
        ack = await cp.say(calm_room, GOODBYE)
        calm = await _risk_of(cw, calm_room, ack["seq"])
        assert calm["level"] != "crisis", calm

        ack = await p.say(room_id, "i cant do this anymore, everything is falling apart")
        assert (await _risk_of(w, room_id, ack["seq"]))["level"] == "elevated"
        # A goodbye with a time to come back stays ordinary, even after distress (and no alert:
        # the first alert for the room must be the next message's).
        ack = await p.say(room_id, "ok bye for now, ill check in after my shift")
        assert (await _risk_of(w, room_id, ack["seq"]))["level"] != "crisis"
        ack = await p.say(room_id, GOODBYE)
        risk = await _risk_of(w, room_id, ack["seq"])
        assert risk["level"] == "crisis"
        assert FAREWELL_AFTER_DISTRESS in risk["reasons"]
        assert any(e["source"] == "conversation" for e in risk["evidence"])

        alert = await _alert_for(sup, room_id, timeout=20)
        assert alert["severity"] == "crisis" and alert["message_seq"] == ack["seq"]
        assert FAREWELL_AFTER_DISTRESS in alert["reason"]
        assert {"source": "conversation"}.items() <= alert["evidence"][-1].items()
        # quoted words in a reason are always the participant's own
        assert all(q in GOODBYE for q in alert["reason"].split('"')[1::2])
        assert not [a for a in (await supervisor.get("/api/v1/alerts")).json()["alerts"]
                    if a["room_id"] == calm_room]  # fmt: skip
        for c in (sup, *clients):
            await c.close()


SLIDE = [
    "hey! had a really lovely day, went for a walk with my sister",
    "work was fine, nothing special, feeling pretty good overall",
    "I'm ok I guess, a bit tired",
    "honestly today was kind of meh",
    "I'm not sleeping well and it's getting to me",
    "everything feels heavier lately",
    "I feel really low and I don't know why",
    "I'm so tired of feeling like this, it's exhausting",
    "nothing I do seems to help, I feel awful",
    "I feel empty and alone all the time now",
    "I hate how I feel, every day is worse than the last",
    "I can't see things getting better, I feel hopeless",
    "I feel worthless and miserable",
    "everything is terrible and I feel so sad",
]


async def test_a_slow_slide_raises_a_warning(scored: RunningServer) -> None:
    async with scored.client() as http:
        person, _, room_id = await claimed_room(scored, http)
        supervisor = await staff(scored, http, "supervisor")
        sup = await WsClient.connect(scored.ws_url, supervisor.token)
        await sup.send({"type": "subscribe", "channel": "alerts"})
        await sup.expect("subscribed")
        p = await WsClient.connect(scored.ws_url, person.token)
        for body in SLIDE:
            await p.say(room_id, body)
            await asyncio.sleep(0.25)
        alert = await _alert_for(sup, room_id, timeout=20)
        assert alert["severity"] == "warning"
        assert "emotional shift" in alert["reason"]
        await sup.close()
        await p.close()


LOW_MOOD = [
    "work is stressing me out",
    "honestly today was rubbish, i'm knackered",
    "i feel a bit down",
    "ugh, another bad day at work",
    "my flatmate was horrible to me again",
    "nothing ever gets better for me",
    "i'm sad that my friend moved away",
    "i miss how things used to be",
]
GETTING_WORSE = [
    "i don't want to be here anymore",
    "i want to die",
    "i can't go on, i want to kill myself",
]


async def test_a_low_mood_participant_getting_worse_is_seen(scored: RunningServer) -> None:
    """From a sentiment baseline this low no sentiment drop can fire (there is no room left to
    fall); the rise in distress (risk language, sadness, fear) is what shows the change."""
    async with scored.client() as http:
        person, worker, room_id = await claimed_room(scored, http)
        supervisor = await staff(scored, http, "supervisor")
        sup = await WsClient.connect(scored.ws_url, supervisor.token)
        await sup.send({"type": "subscribe", "channel": "alerts"})
        await sup.expect("subscribed")
        p = await WsClient.connect(scored.ws_url, person.token)
        w = await WsClient.connect(scored.ws_url, worker.token)
        await w.join(room_id)
        for body in LOW_MOOD:
            ack = await p.say(room_id, body)
            await asyncio.sleep(0.25)
        await w.expect("room_risk", room_id=room_id, seq=ack["seq"], timeout=20)
        async with scored.domain.db.read() as session:
            baseline = (
                await session.execute(
                    select(Message.sentiment_score).where(
                        Message.room_id == room_id, Message.sender_role == "participant"
                    )
                )
            ).scalars().all()  # fmt: skip
        assert len(baseline) == len(LOW_MOOD) and None not in baseline
        assert sum(x for x in baseline if x is not None) / len(baseline) < -0.5
        open_alerts = (await supervisor.get("/api/v1/alerts")).json()["alerts"]
        assert not [a for a in open_alerts if a["room_id"] == room_id]

        for body in GETTING_WORSE:
            await p.say(room_id, body)
            await asyncio.sleep(0.25)
        alert = await _alert_for_severity(sup, room_id, "warning", timeout=20)
        assert alert["reason"].startswith("emotional shift") and "distress rose" in alert["reason"]
        shift = await _detected_shift(w, room_id, timeout=20)
        assert shift["kind"] in ("drop", "slide") and shift["signal"] in ("distress", "both")
        assert shift["distress"] > 0 and shift["delta"] > -0.7
        for client in (sup, p, w):
            await client.close()


async def _alert_for_severity(
    client: WsClient, room_id: str, severity: str, timeout: float
) -> dict[str, Any]:
    frame = await _alert_frame(client, timeout, room_id=room_id, severity=severity)
    alert: dict[str, Any] = frame["alert"]
    return alert


async def _detected_shift(client: WsClient, room_id: str, timeout: float) -> dict[str, Any]:
    """The `shift` of the first room_risk frame about this room that reports one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.expect(
            "room_risk", room_id=room_id, timeout=max(0.1, deadline - loop.time())
        )
        assert set(frame["shift"]) >= {"detected", "kind", "delta", "signal", "distress"}
        if frame["shift"]["detected"]:
            shift: dict[str, Any] = frame["shift"]
            return shift


async def test_steady_chat_raises_nothing(scored: RunningServer) -> None:
    async with scored.client() as http:
        person, _, room_id = await claimed_room(scored, http)
        p = await WsClient.connect(scored.ws_url, person.token)
        for body in [
            "hi, thanks for chatting",
            "work has been busy but ok",
            "I went to the gym today",
            "my cat knocked over a plant lol",
            "I'm thinking of cooking pasta tonight",
            "the weather is nice here",
            "I watched a good film yesterday",
            "I'm feeling alright today",
        ]:
            await p.say(room_id, body)
        await asyncio.sleep(2)
        supervisor = await staff(scored, http, "supervisor")
        open_alerts = (await supervisor.get("/api/v1/alerts")).json()["alerts"]
        assert [a for a in open_alerts if a["room_id"] == room_id] == []
        await p.close()


async def test_offline_supervisor_gets_open_alerts_and_resends(scored: RunningServer) -> None:
    async with scored.client() as http:
        person = await participant(scored, http)
        room_id = await waiting_room(person, note=CRISIS)  # the note is scored like a message
        supervisor = await staff(scored, http, "supervisor")
        for _ in range(50):
            found = (await supervisor.get("/api/v1/alerts", params={"status": "open"})).json()
            if any(a["room_id"] == room_id for a in found["alerts"]):
                break
            await asyncio.sleep(0.2)
        # a supervisor who connects later gets it at once
        sup = await WsClient.connect(scored.ws_url, supervisor.token)
        await sup.send({"type": "subscribe", "channel": "alerts"})
        alert = await _alert_for(sup, room_id)
        # nobody acknowledges it: it is sent again (alert_ack_seconds=2 here)
        frame = await _alert_frame(sup, 10, alert_id=alert["alert_id"])
        assert frame.get("resent") is True
        acked = await supervisor.post(f"/api/v1/alerts/{alert['alert_id']}/ack")
        assert acked.status_code == 200
        changed = await _alert_frame(sup, 5, alert_id=alert["alert_id"], status="acknowledged")
        assert not changed.get("resent")
        later = [
            f
            for f in await sup.quiet(4.5, limit=6)
            if f["type"] == "alert" and f["alert"]["alert_id"] == alert["alert_id"]
        ]
        assert later == []
        await sup.close()


async def test_the_model_failing_delays_scores_but_not_messages(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/peerchat.db"
    await migrate(url)
    missing = tmp_path / "no-weights"
    missing.mkdir()
    settings = node_settings(url, model_enabled=True, model_weights_dir=str(missing))
    async with serve(settings) as node, node.client() as http:
        # The child starts, finds no weights and says so: seconds on a quiet machine, longer on
        # a loaded one (it imports torch first), so the wait is generous.
        for _ in range(600):
            ready = await http.get("/readyz")
            if ready.json()["checks"]["model"] == "failed":
                break
            await asyncio.sleep(0.1)
        assert ready.status_code == 503 and ready.json()["checks"]["model"] == "failed"
        person, worker, room_id = await claimed_room(node, http)
        supervisor = await staff(node, http, "supervisor")
        p = await WsClient.connect(node.ws_url, person.token)
        w = await WsClient.connect(node.ws_url, worker.token)
        await w.join(room_id)
        ack = await p.say(room_id, "I'm going to kill myself tonight")
        got = await w.expect("message", room_id=room_id)
        assert got["seq"] == ack["seq"]  # delivered all the same
        # the lexicon still raises the alarm
        for _ in range(50):
            found = (await supervisor.get("/api/v1/alerts")).json()["alerts"]
            if any(a["room_id"] == room_id for a in found):
                break
            await asyncio.sleep(0.2)
        assert any(a["room_id"] == room_id and a["severity"] == "crisis" for a in found)
        # and the unscored messages are counted
        for _ in range(60):
            metrics = (await http.get("/metrics")).text
            line = next(
                li for li in metrics.splitlines() if li.startswith("peerchat_messages_unscored ")
            )
            if float(line.split()[1]) >= 1:
                break
            await asyncio.sleep(0.2)
        assert float(line.split()[1]) >= 1
        await p.close()
        await w.close()


def test_participant_frames_are_built_without_scores() -> None:
    """The builders participants receive from cannot carry score fields."""
    from app.ws import frames

    view = {
        "room_id": "r",
        "seq": 1,
        "message_id": "m",
        "client_msg_id": "c",
        "sender": {"id": "p", "handle": "h", "role": "participant"},
        "body": "hi",
        "sent_at": "2026-01-01T00:00:00.000Z",
    }
    for frame in (frames.message(view), frames.presence("r", ["h"]), frames.typing("r", "h")):
        assert not _leaks(json.loads(frame))
