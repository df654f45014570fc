"""Abuse: sign-in brute force (per account and per address, limits on), session floods,
message and frame floods, and report floods. Each is slowed or refused, and nothing is stored."""

from __future__ import annotations

from tests.security.helpers import group_with, still_serving, stored_messages
from tests.support.actors import PASSWORD, error_code, participant, waiting_room
from tests.support.server import node_settings, serve
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
        from app.domain import accounts

        await accounts.create_staff(
            node.domain, username="kim", role="peer_worker", password=PASSWORD
        )
        for _ in range(2):
            bad = await http.post(
                "/api/v1/auth/login", json={"username": "kim", "password": "nope-nope"}
            )
            assert bad.status_code == 401
        good = await http.post("/api/v1/auth/login", json={"username": "kim", "password": PASSWORD})
        assert good.status_code == 429 and "Retry-After" in good.headers


async def test_an_account_locks_after_failures_even_from_many_addresses(database_url: str) -> None:
    """The per-account lock does not depend on the address: spreading guesses does not help."""
    settings = node_settings(
        database_url, address_rate_limits="on", login_failures_before_lock=3, login_lock_seconds=120
    )
    async with serve(settings) as node:
        from app.domain import accounts

        await accounts.create_staff(
            node.domain, username="lee", role="supervisor", password=PASSWORD
        )
        for i in range(3):
            # A different (trusted-proxy-free) address per attempt is simulated with new clients;
            # the account's counter is in the database, so the lock follows the account.
            async with node.client() as http:
                bad = await http.post(
                    "/api/v1/auth/login", json={"username": "lee", "password": f"guess-{i}-guess"}
                )
                assert bad.status_code == 401
        async with node.client() as http:
            locked = await http.post(
                "/api/v1/auth/login", json={"username": "lee", "password": PASSWORD}
            )
        assert locked.status_code == 423 and error_code(locked) == "locked"
        assert 1 <= int(locked.headers["Retry-After"]) <= 120
        async with node.client() as http:
            unknown = await http.post(
                "/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12}
            )
        assert unknown.status_code == 401  # unknown users are never "locked": no enumeration


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
        before = await stored_messages(node, room_id)
        c = await WsClient.connect(node.ws_url, person.token)
        for i in range(6):
            await c.send(
                {"type": "send", "room_id": room_id, "client_msg_id": f"f{i}", "body": "flood"}
            )
        answers = [await c.recv() for _ in range(6)]
        assert [a["type"] for a in answers].count("ack") == 3
        assert all(a["code"] == "rate_limited" for a in answers if a["type"] == "error")
        assert await stored_messages(node, room_id) == before + 3
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
