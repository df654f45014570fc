"""Helpers shared by the security tests: counting what is stored, and a group with members."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.support.actors import Actor, participant, staff
from tests.support.server import RunningServer
from tests.support.wsclient import WsClient


async def still_serving(server: RunningServer) -> None:
    """The server survived: a fresh connection authenticates and a ping gets its pong."""
    async with server.client() as http:
        person = await participant(server, http)
    fresh = await WsClient.connect(server.ws_url, person.token)
    await fresh.send({"type": "ping"})
    await fresh.expect("pong", timeout=5)
    await fresh.close()


@dataclass
class Group:
    room_id: str
    moderator: Actor
    members: list[Actor]


async def group_with(server: RunningServer, http: httpx.AsyncClient, members: int = 2) -> Group:
    moderator = await staff(server, http, "peer_worker")
    created = await moderator.post("/api/v1/groups", json={"name": "evening circle"})
    assert created.status_code == 201, created.text
    room_id = created.json()["room_id"]
    people = [await participant(server, http) for _ in range(members)]
    for person in people:
        joined = await person.post(f"/api/v1/groups/{room_id}/join")
        assert joined.status_code == 200, joined.text
    return Group(room_id, moderator, people)
