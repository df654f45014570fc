"""Anonymous sessions, staff sign-in and tokens."""

from __future__ import annotations

import time

import httpx
import jwt

from tests.support.actors import PASSWORD, error_code, participant, staff
from tests.support.server import RunningServer


async def test_anonymous_session_asks_nothing_personal(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/sessions/anonymous")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "participant_id", "handle"}
    assert body["handle"] and "@" not in body["handle"]
    me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json() == {
        "id": body["participant_id"],
        "role": "participant",
        "handle": body["handle"],
    }


async def test_anonymous_session_takes_language_and_topics(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v1/sessions/anonymous", json={"language": "en", "topics": ["Anxiety", "sleep"]}
    )
    assert response.status_code == 201


async def test_anonymous_session_refuses_bad_input(http: httpx.AsyncClient) -> None:
    for body in ({"topics": "anxiety"}, {"language": 5}, {"topics": [1, 2]}):
        response = await http.post("/api/v1/sessions/anonymous", json=body)
        assert response.status_code == 400, body
        assert error_code(response) == "bad_request"
    response = await http.post(
        "/api/v1/sessions/anonymous",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and error_code(response) == "bad_request"


async def test_login_returns_token_and_role(server: RunningServer, http: httpx.AsyncClient) -> None:
    worker = await staff(server, http, "peer_worker")
    response = await http.post(
        "/api/v1/auth/login", json={"username": worker.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user_id", "role", "handle"}
    assert body["role"] == "peer_worker" and body["user_id"] == worker.id


async def test_login_failures_say_the_same_thing(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "peer_worker")
    wrong_password = await http.post(
        "/api/v1/auth/login", json={"username": worker.username, "password": "not the password"}
    )
    unknown_user = await http.post(
        "/api/v1/auth/login", json={"username": "nobody-here", "password": "not the password"}
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()


async def test_repeated_failures_lock_the_account(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    worker = await staff(server, http, "supervisor")
    attempts = server.domain.settings.login_failures_before_lock
    for _ in range(attempts):
        response = await http.post(
            "/api/v1/auth/login", json={"username": worker.username, "password": "guess-guess"}
        )
        assert response.status_code == 401
    locked = await http.post(
        "/api/v1/auth/login", json={"username": worker.username, "password": PASSWORD}
    )
    assert locked.status_code == 423
    assert error_code(locked) == "locked"
    assert int(locked.headers["retry-after"]) > 0


async def test_login_refuses_bad_input(http: httpx.AsyncClient) -> None:
    for body in ({}, {"username": "x"}, {"username": 1, "password": 2}, [1]):
        response = await http.post("/api/v1/auth/login", json=body)
        assert response.status_code == 400, body
        assert error_code(response) == "bad_request"


async def test_bad_tokens_are_refused(server: RunningServer, http: httpx.AsyncClient) -> None:
    person = await participant(server, http)
    header, payload, signature = person.token.split(".")
    tampered_sig = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    expired = jwt.encode(
        {
            "sub": person.id,
            "role": "participant",
            "iss": "peerchat",
            "iat": int(time.time()) - 100,
            "exp": int(time.time()) - 10,
        },
        server.domain.settings.signing_key,
        algorithm="HS256",
    )
    forged_role = jwt.encode(
        {
            "sub": person.id,
            "role": "supervisor",
            "iss": "peerchat",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        "some other key that is long enough to be a key",
        algorithm="HS256",
    )
    for token in (f"{header}.{payload}.{tampered_sig}", expired, forged_role, "garbage"):
        response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert error_code(response) == "unauthorized"
    missing = await http.get("/api/v1/me")
    assert missing.status_code == 401 and error_code(missing) == "unauthorized"


async def test_a_participant_token_cannot_claim_a_staff_role(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A validly signed token whose role disagrees with the account is refused."""
    person = await participant(server, http)
    forged = jwt.encode(
        {
            "sub": person.id,
            "role": "supervisor",
            "iss": "peerchat",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        server.domain.settings.signing_key,
        algorithm="HS256",
    )
    response = await http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
