"""People using the service in tests: each signs in over real HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.accounts import sign_in
from tests.support.server import RunningServer

PASSWORD = "correct horse battery"


@dataclass
class Actor:
    id: str
    role: str
    handle: str
    token: str
    http: httpx.AsyncClient
    username: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, headers=self.auth, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(path, headers=self.auth, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.put(path, headers=self.auth, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.delete(path, headers=self.auth, **kwargs)


async def participant(server: RunningServer, http: httpx.AsyncClient, **body: Any) -> Actor:
    response = await http.post("/api/v1/sessions/anonymous", json=body or None)
    assert response.status_code == 201, response.text
    data = response.json()
    return Actor(data["participant_id"], "participant", data["handle"], data["token"], http)


async def staff(server: RunningServer, http: httpx.AsyncClient, role: str, **profile: Any) -> Actor:
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    await sign_in.create_staff(
        server.domain, username=username, role=role, password=PASSWORD, **profile
    )
    response = await http.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    return Actor(data["user_id"], role, data["handle"], data["token"], http, username)


async def waiting_room(person: Actor, **body: Any) -> str:
    response = await person.post("/api/v1/support-requests", json=body or {})
    assert response.status_code == 201, response.text
    room_id: str = response.json()["room_id"]
    return room_id


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["detail"], str) and body["error"]["detail"], body
    code: str = body["error"]["code"]
    return code


async def claimed_room(server: RunningServer, http: httpx.AsyncClient) -> tuple[Actor, Actor, str]:
    """A participant's one-to-one room, claimed by a new peer worker."""
    person = await participant(server, http)
    room_id = await waiting_room(person)
    worker = await staff(server, http, "peer_worker")
    response = await worker.post(f"/api/v1/rooms/{room_id}/claim")
    assert response.status_code == 200, response.text
    return person, worker, room_id
