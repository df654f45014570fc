"""Abuse: sign-in brute force (per account and per address, limits on), session floods,
message and frame floods, and report floods. Each is slowed or refused, and nothing is stored."""

from __future__ import annotations

import httpx

from tests.security.helpers import group_with, still_serving
from tests.support.actors import PASSWORD, error_code, participant, waiting_room
from tests.support.server import RunningServer, node_settings, serve
from tests.support.storage import count_messages
from tests.support.wsclient import WsClient


async def test_login_is_limited_per_address(database_url: str) -> None:
    settings = node_settings(
        database_url, address_rate_limits="on", logins_per_address_per_minute=4
    )
    async with serve(settings) as node, node.client() as http:
        statuses = []
        for i in range(6):
            response = await http.post(
                "/api/v1/auth/login", json={"username": f"ghost{i}", "password": "guess-guess"}
            )
            statuses.append(response.status_code)
        assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429], statuses
        assert error_code(response) == "rate_limited"
        assert int(response.headers["Retry-After"]) >= 1


async def test_the_right_password_waits_too(database_url: str) -> None:
    settings = node_settings(
        database_url, address_rate_limits="on", logins_per_address_per_minute=2
    )
    async with serve(settings) as node, node.client() as http:
        from app.accounts import sign_in

        await sign_in.create_staff(
            node.domain, username="kim", role="peer_worker", password=PASSWORD
        )
        for _ in range(2):
            bad = await http.post(
                "/api/v1/auth/login", json={"username": "kim", "password": "nope-nope"}
            )
            assert bad.status_code == 401
        good = await http.post("/api/v1/auth/login", json={"username": "kim", "password": PASSWORD})
        assert good.status_code == 429 and "Retry-After" in good.headers


def _from(node: RunningServer, address: str) -> httpx.AsyncClient:
    """A client whose connections come from another loopback address (127.0.0.0/8)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=node.base_url, transport=transport, timeout=30)


async def test_failures_lock_the_address_out_of_the_account_not_its_owner(
    database_url: str,
) -> None:
    """Failed sign-ins count per (account, address): guesses from one address lock that address
    out, and the owner, signing in from elsewhere, is never locked out by someone else."""
    settings = node_settings(
        database_url, address_rate_limits="on", login_failures_before_lock=3, login_lock_seconds=120
    )
    async with serve(settings) as node:
        from app.accounts import sign_in

        await sign_in.create_staff(
            node.domain, username="lee", role="supervisor", password=PASSWORD
        )
        async with _from(node, "127.0.0.2") as attacker, _from(node, "127.0.0.3") as owner:
            for i in range(3):
                bad = await attacker.post(
                    "/api/v1/auth/login", json={"username": "lee", "password": f"guess-{i}-guess"}
                )
                assert bad.status_code == 401
            locked = await attacker.post(
                "/api/v1/auth/login", json={"username": "lee", "password": PASSWORD}
            )
            assert locked.status_code == 423 and error_code(locked) == "locked"
            assert 1 <= int(locked.headers["Retry-After"]) <= 120
            mine = await owner.post(
                "/api/v1/auth/login", json={"username": "lee", "password": PASSWORD}
            )
            assert mine.status_code == 200, mine.text
            unknown = await attacker.post(
                "/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12}
            )
        assert unknown.status_code == 401  # unknown users are never "locked": no enumeration


async def test_a_ceiling_on_failed_sign_ins_stops_spraying(database_url: str) -> None:
    """One guess at each of many accounts from many addresses: past the node-wide ceiling,
    addresses that have failed are refused, and staff who have not failed still sign in."""
    settings = node_settings(
        database_url, address_rate_limits="on", login_failures_per_minute_global=4
    )
    async with serve(settings) as node:
        from app.accounts import sign_in

        await sign_in.create_staff(
            node.domain, username="ari", role="peer_worker", password=PASSWORD
        )
        statuses = []
        async with _from(node, "127.0.1.1") as sprayer:
            for i in range(10):  # one guess at each of ten accounts: no account lock applies
                tried = await sprayer.post(
                    "/api/v1/auth/login", json={"username": f"staff{i}", "password": "Summer2026!!"}
                )
                statuses.append(tried.status_code)
        assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}, statuses
        async with _from(node, "127.0.1.2") as other:  # each new address: one guess, then no
            guesses = [
                (await other.post("/api/v1/auth/login", json={"username": "ari", "password": p}))
                for p in ("Winter2026!!", "Autumn2026!!")
            ]
        assert [t.status_code for t in guesses] == [401, 429]
        async with _from(node, "127.0.2.1") as owner:
            mine = await owner.post(
                "/api/v1/auth/login", json={"username": "ari", "password": PASSWORD}
            )
        assert mine.status_code == 200, mine.text


async def test_anonymous_sessions_are_limited_per_address(database_url: str) -> None:
    settings = node_settings(
        database_url, address_rate_limits="on", sessions_per_address_per_minute=3
    )
    async with serve(settings) as node, node.client() as http:
        codes = [
            (await http.post("/api/v1/sessions/anonymous", json={})).status_code for _ in range(5)
        ]
        assert codes == [201, 201, 201, 429, 429]
        limited = await http.post("/api/v1/sessions/anonymous", json={})
        assert error_code(limited) == "rate_limited" and "Retry-After" in limited.headers


async def test_message_and_frame_floods_are_limited(database_url: str) -> None:
    settings = node_settings(
        database_url,
        messages_per_second=2.0,
        message_burst=3,
        frames_per_second=5.0,
        frame_burst=10,
    )
    async with serve(settings) as node, node.client() as http:
        person = await participant(node, http)
        room_id = await waiting_room(person)
        before = await count_messages(node, room_id)
        c = await WsClient.connect(node.ws_url, person.token)
        for i in range(6):
            await c.send(
                {"type": "send", "room_id": room_id, "client_msg_id": f"f{i}", "body": "flood"}
            )
        answers = [await c.recv() for _ in range(6)]
        assert [a["type"] for a in answers].count("ack") == 3
        assert all(a["code"] == "rate_limited" for a in answers if a["type"] == "error")
        assert await count_messages(node, room_id) == before + 3
        for _ in range(40):
            await c.send({"type": "ping"})
        frames = await c.quiet(0.5)
        assert any(f.get("code") == "rate_limited" for f in frames)
        assert sum(f["type"] == "pong" for f in frames) < 40
        await c.close()
        await still_serving(node)


async def test_report_floods_are_limited(database_url: str) -> None:
    settings = node_settings(database_url, reports_per_minute=2)
    async with serve(settings) as node, node.client() as http:
        group = await group_with(node, http, members=2)
        alice, bob = group.members
        b = await WsClient.connect(node.ws_url, bob.token)
        await b.join(group.room_id)
        seqs = [(await b.say(group.room_id, f"m{i}"))["seq"] for i in range(3)]
        await b.close()
        codes = [
            (
                await alice.post(f"/api/v1/rooms/{group.room_id}/messages/{s}/report", json={})
            ).status_code
            for s in seqs
        ]
        assert codes == [201, 201, 429]
