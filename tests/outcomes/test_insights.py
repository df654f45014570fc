"""The programme view and conversation outcomes on a seeded set of conversations with exact
expected figures. A fresh database per backend, so the session's other rows don't count."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.accounts import sign_in
from app.core.clock import new_id
from app.core.enums import Role
from app.core.identity import Principal
from app.outcomes import reports
from app.storage.models import Alert, CheckIn, Message, Participant, Room
from tests.support import services
from tests.support.actors import PASSWORD, Actor, error_code
from tests.support.server import RunningServer, migrate, node_settings, serve

JAN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)

# January: seven requests. c1..c6 were answered (c1..c5 by W1, c6 by W2); c7 was withdrawn.
# waits 60 120 180 240 300 600 s -> median 210 (linear: 180 + 0.5 * 60), p90 450 (300 + 0.5 * 300)
# durations 1800 3600 1200 2400 3000 600 s -> median 2100; W1 holds 12000 s = 3.33 h
# moods (before, after) on c1..c5: (2,4) (1,3) (3,3) (2,5) (4,3) -> 2.4, 3.6, change 1.2;
# c6 has a start check-in only. Alerts on c2 (acked after 30 s), c4 (first raised, then acked
# 90 s later) and c6 (never acked): share 3/7, two acknowledged -> median suppressed.
WAITS = [60, 120, 180, 240, 300, 600]
DURATIONS = [1800, 3600, 1200, 2400, 3000, 600]
MOODS: list[tuple[int | None, int | None]] = [(2, 4), (1, 3), (3, 3), (2, 5), (4, 3), (3, None)]


@dataclass
class Seeded:
    server: RunningServer
    supervisor: Actor
    w1: Actor
    w2: Actor
    jan: list[str]
    feb: list[str]


async def _login(http: httpx.AsyncClient, username: str, role: str) -> Actor:
    response = await http.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    return Actor(data["user_id"], role, data["handle"], data["token"], http, username)


async def _seed(server: RunningServer, w1: str, w2: str) -> tuple[list[str], list[str]]:
    domain = server.domain
    jan: list[str] = []
    feb: list[str] = []
    async with domain.db.write() as session:

        def room(
            created: datetime, wait: int | None, duration: int | None, worker: str | None
        ) -> Room:
            pid = new_id("p")
            session.add(Participant(id=pid, handle=f"seed-{pid[-6:]}", topics=[]))
            claimed = created + timedelta(seconds=wait) if wait is not None else None
            closed = (
                (claimed + timedelta(seconds=duration))
                if claimed and duration
                else created + timedelta(minutes=5)
            )
            made = Room(
                id=new_id("room"),
                kind="one_to_one",
                status="closed",
                created_by=pid,
                created_at=created,
                waiting_since=created,
                assigned_to=worker,
                claimed_at=claimed,
                closed_at=closed,
                last_seq=0,
                risk_level="none",
                risk_score=0.0,
            )
            session.add(made)
            return made

        for i, (wait, duration) in enumerate(zip(WAITS, DURATIONS, strict=True)):
            made = room(JAN + timedelta(days=i), wait, duration, w1 if i < 5 else w2)
            jan.append(made.id)
            await session.flush()  # rooms first: check-ins refer to them
            before, after = MOODS[i]
            for phase, mood in (("start", before), ("end", after)):
                if mood is not None:
                    session.add(
                        CheckIn(
                            id=new_id("chk"),
                            room_id=made.id,
                            participant_id=made.created_by,
                            phase=phase,
                            mood=mood,
                            comment=f"{phase} words {i}",
                            created_at=made.created_at,
                        )
                    )
        withdrawn = room(JAN + timedelta(days=6), None, None, None)
        jan.append(withdrawn.id)
        for i in range(5):
            feb.append(room(FEB + timedelta(days=i), 10 * (i + 1), 900, w2).id)
        await session.flush()

        def alert(
            room_id: str, severity: str, after: int, ack_after: int | None, status: str
        ) -> None:
            base = JAN + timedelta(days=jan.index(room_id))
            session.add(
                Alert(
                    id=new_id("alert"),
                    room_id=room_id,
                    severity=severity,
                    status=status,
                    reason="seeded",
                    created_at=base + timedelta(seconds=after),
                    acknowledged_at=base + timedelta(seconds=ack_after) if ack_after else None,
                )
            )

        alert(jan[1], "crisis", 400, 430, "resolved")
        alert(jan[3], "warning", 500, 590, "resolved")
        alert(jan[3], "crisis", 550, None, "resolved")
        alert(jan[5], "warning", 700, None, "open")
        # c1's messages: the participant's scored ones run -0.5, -0.8, 0.2; one is unscored.
        c1 = jan[0]
        rows = [
            ("participant", -0.5), ("system", None), ("peer_worker", None),
            ("participant", None), ("participant", -0.8), ("participant", 0.2),
        ]  # fmt: skip
        for seq, (role, score) in enumerate(rows, start=1):
            session.add(
                Message(
                    id=new_id("msg"),
                    room_id=c1,
                    seq=seq,
                    sender_id=role,
                    sender_handle=role,
                    sender_role=role,
                    body="seeded",
                    sent_at=JAN + timedelta(seconds=60 + seq),
                    sentiment_score=score,
                    scored_at=JAN if score is not None else None,
                )
            )
    return jan, feb


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Seeded]:
    if request.param == "postgres":
        url = await services.create_postgres_database()
    else:
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('insights')) / 'seeded.db'}"
    await migrate(url)
    try:
        async with serve(node_settings(url)) as server, server.client() as http:
            domain = server.domain
            for name, role in (("w1", "peer_worker"), ("w2", "peer_worker"), ("sup", "supervisor")):
                await sign_in.create_staff(
                    domain, username=name, role=role, password=PASSWORD, handle=name.upper()
                )
            w1 = await _login(http, "w1", "peer_worker")
            w2 = await _login(http, "w2", "peer_worker")
            supervisor = await _login(http, "sup", "supervisor")
            jan, feb = await _seed(server, w1.id, w2.id)
            yield Seeded(server, supervisor, w1, w2, jan, feb)
    finally:
        if request.param == "postgres":
            await services.drop_postgres_database(url)


def _values(figures: dict[str, dict[str, object]]) -> dict[str, object]:
    return {name: fig["value"] for name, fig in figures.items()}


async def test_programme_figures_are_exact(seeded: Seeded) -> None:
    response = await seeded.supervisor.get(
        "/api/v1/insights", params={"from": "2026-01-01", "to": "2026-01-31"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "2026-01-01T00:00:00.000Z" and body["to"] == "2026-02-01T00:00:00.000Z"
    assert body["min_group"] == 5 and body["percentile_method"] == "linear"
    figures = body["figures"]
    assert _values(figures) == {
        "conversations": 7,
        "conversations_answered": 6,
        "wait_seconds_median": 210.0,
        "wait_seconds_p90": 450.0,
        "duration_seconds_median": 2100.0,
        "mood_before_mean": 2.4,
        "mood_after_mean": 3.6,
        "mood_change_mean": 1.2,
        "alerts_share": round(3 / 7, 4),
        "ack_seconds_median": None,
        "groups_active": None,
        "group_messages": None,
    }
    assert figures["mood_change_mean"] == {
        "value": 1.2,
        "n": 5,
        "suppressed": False,
        "reason": None,
    }
    assert figures["wait_seconds_p90"]["n"] == 6 and figures["alerts_share"]["n"] == 7
    # Only two conversations had an acknowledged alert: too few to show.
    assert figures["ack_seconds_median"] == {
        "value": None, "n": 2, "suppressed": True, "reason": "fewer than 5 conversations",
    }  # fmt: skip
    assert figures["groups_active"] == {
        "value": None, "n": 0, "suppressed": True, "reason": "fewer than 5 groups",
    }  # fmt: skip
    # W1 has five conversations and is listed; W2 has one in January and is not.
    assert body["workers"] == [{"handle": "W1", "conversations": 5, "active_hours": 3.33}]


async def test_four_conversations_are_suppressed_and_five_are_shown(seeded: Seeded) -> None:
    four = await seeded.supervisor.get(
        "/api/v1/insights", params={"from": "2026-02-01T00:00:00Z", "to": "2026-02-05T12:00:00Z"}
    )
    assert four.status_code == 200, four.text
    figures = four.json()["figures"]
    assert figures["conversations"] == {
        "value": None, "n": 4, "suppressed": True, "reason": "fewer than 5 conversations",
    }  # fmt: skip
    assert all(fig["suppressed"] and fig["value"] is None for fig in figures.values())
    assert four.json()["workers"] == []
    five = (
        await seeded.supervisor.get(
            "/api/v1/insights", params={"from": "2026-02-01", "to": "2026-02-28"}
        )
    ).json()
    assert five["figures"]["conversations"] == {
        "value": 5,
        "n": 5,
        "suppressed": False,
        "reason": None,
    }
    assert five["figures"]["wait_seconds_median"]["value"] == 30.0
    assert five["figures"]["wait_seconds_p90"]["value"] == 46.0  # 40 + 0.6 * 10
    assert five["figures"]["mood_change_mean"]["suppressed"] is True  # no check-ins in February
    assert five["workers"] == [{"handle": "W2", "conversations": 5, "active_hours": 1.25}]


async def test_csv_matches_the_json(seeded: Seeded) -> None:
    params = {"from": "2026-01-01", "to": "2026-01-31"}
    body = (await seeded.supervisor.get("/api/v1/insights", params=params)).json()
    response = await seeded.supervisor.get("/api/v1/insights.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["figure", "value", "n", "suppressed"]
    by_name = {row[0]: row[1:] for row in rows[1:]}
    for name, fig in body["figures"].items():
        value, n, suppressed = by_name.pop(name)
        assert (float(value) if value else None) == fig["value"]
        assert int(n) == fig["n"] and suppressed == ("true" if fig["suppressed"] else "false")
    assert by_name == {
        "worker:W1:conversations": ["5", "5", "false"],
        "worker:W1:active_hours": ["3.33", "5", "false"],
    }


async def test_default_period_and_bad_input(seeded: Seeded) -> None:
    body = (await seeded.supervisor.get("/api/v1/insights")).json()
    start = datetime.fromisoformat(body["from"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(body["to"].replace("Z", "+00:00"))
    assert end - start == timedelta(days=30)
    for params in (
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
    ):
        for path in ("/api/v1/insights", "/api/v1/insights.csv"):
            response = await seeded.supervisor.get(path, params=params)
            assert response.status_code == 400 and error_code(response) == "bad_request", params


async def test_insights_are_for_supervisors_only(seeded: Seeded) -> None:
    http = seeded.supervisor.http
    person = await http.post("/api/v1/sessions/anonymous", json={})
    token = person.json()["token"]
    for auth in ({"Authorization": f"Bearer {token}"}, seeded.w1.auth):
        for path in ("/api/v1/insights", "/api/v1/insights.csv"):
            response = await http.get(path, headers=auth)
            assert response.status_code == 403 and error_code(response) == "forbidden"
    assert (await http.get("/api/v1/insights")).status_code == 401


async def test_room_outcome_for_supervisor_and_assigned_worker(seeded: Seeded) -> None:
    c1 = seeded.jan[0]
    seen = (await seeded.supervisor.get(f"/api/v1/rooms/{c1}/outcome")).json()
    assert seen["wait_seconds"] == 60.0 and seen["duration_seconds"] == 1800.0
    assert seen["messages"] == {"participant": 4, "staff": 1}
    assert seen["sentiment"] == {"scored": 3, "start": -0.5, "lowest": -0.8, "end": 0.2}
    assert seen["mood"] == {"before": 2, "after": 4, "change": 2}
    assert seen["alerts"] == {
        "total": 0,
        "by_severity": {"crisis": 0, "warning": 0},
        "first_ack_seconds": None,
    }
    assert seen["assigned_to"] == {"id": seeded.w1.id, "handle": "W1"}
    assert seen["comments"] == {"before": "start words 0", "after": "end words 0"}
    # The assigned worker sees the same figures, but never the participant's comments.
    mine = (await seeded.w1.get(f"/api/v1/rooms/{c1}/outcome")).json()
    assert "comments" not in mine and mine["mood"] == seen["mood"]
    c4 = (await seeded.w1.get(f"/api/v1/rooms/{seeded.jan[3]}/outcome")).json()
    assert c4["alerts"] == {
        "total": 2,
        "by_severity": {"crisis": 1, "warning": 1},
        "first_ack_seconds": 90.0,
    }
    other = await seeded.w2.get(f"/api/v1/rooms/{c1}/outcome")
    assert other.status_code == 403 and error_code(other) == "forbidden"
    missing = await seeded.supervisor.get("/api/v1/rooms/room_nope/outcome")
    assert missing.status_code == 404


async def test_my_outcomes(seeded: Seeded) -> None:
    response = await seeded.w1.get("/api/v1/me/outcomes")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["room_id"] for c in body["conversations"]] == list(reversed(seeded.jan[:5]))
    newest = body["conversations"][0]
    assert newest["mood"] == {"before": 4, "after": 3, "change": -1}
    assert newest["wait_seconds"] == 300.0 and newest["duration_seconds"] == 3000.0
    assert "comments" not in newest
    assert body["active_rooms"] == 0 and body["max_rooms"] == 3
    assert (await seeded.supervisor.get("/api/v1/me/outcomes")).status_code == 403
    # Hours are counted inside today and this week (UTC, weeks from Monday): seen from halfway
    # through c5 (claimed on Friday 9 January 09:05, 3000 s long), today holds 1500 s of it;
    # the week (from Monday 5 January) holds c1 to c4 in full and that half of c5.
    w1 = Principal(id=seeded.w1.id, role=Role.PEER_WORKER, handle="W1")
    claimed = JAN + timedelta(days=4, seconds=300)
    mid = await reports.my_outcomes(
        seeded.server.domain, worker=w1, now=claimed + timedelta(seconds=1500)
    )
    assert mid["hours_today"] == round(1500 / 3600, 2)
    assert mid["hours_this_week"] == round((1800 + 3600 + 1200 + 2400 + 1500) / 3600, 2)
