"""Shared steps of the crisis-loop tests: signed-in people, sockets, and waits with deadlines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.wsclient import WsClient

CRISIS_WORDS = "I'm going to kill myself tonight"
SCORE_WORDS = ("score", "level", "model", "probab", "similar", "risk", "crisis")
"""What a support frame must never name."""


async def subscribed(url: str, token: str, channel: str) -> WsClient:
    client = await WsClient.connect(url, token)
    await client.send({"type": "subscribe", "channel": channel})
    await client.expect("subscribed", channel=channel)
    return client


async def alert_for(client: WsClient, room_id: str, timeout: float, **match: Any) -> dict[str, Any]:
    """The next alert frame about this room whose alert has these fields."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.expect("alert", timeout=max(0.05, deadline - loop.time()))
        alert: dict[str, Any] = frame["alert"]
        if alert["room_id"] == room_id and all(alert.get(k) == v for k, v in match.items()):
            return alert


async def queue_entry(client: WsClient, room_id: str, timeout: float, check: Any) -> dict[str, Any]:
    """The first queue_update whose entry for this room passes `check`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.expect("queue_update", timeout=max(0.05, deadline - loop.time()))
        for entry in frame["rooms"]:
            if entry["room_id"] == room_id and check(entry):
                return dict(entry)


async def dashboard_where(client: WsClient, timeout: float, check: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.expect("dashboard", timeout=max(0.05, deadline - loop.time()))
        if check(frame["dashboard"]):
            return dict(frame["dashboard"])


def assert_calm_support(frame: dict[str, Any], room_id: str) -> None:
    """The contract's support frame: words for a person and resources, nothing about scoring."""
    assert set(frame) == {"type", "room_id", "message", "resources"}, frame
    assert frame["room_id"] == room_id and frame["message"].strip()
    assert frame["resources"], frame
    for resource in frame["resources"]:
        assert resource["name"] and set(resource) <= {
            "name", "phone", "text", "url", "hours", "region", "description",
        }  # fmt: skip
        assert any(k in resource for k in ("phone", "text", "url")), resource
    said = frame["message"].lower()
    assert not [w for w in SCORE_WORDS if w in said], frame["message"]


def no_weights(tmp_path: Path) -> str:
    """A model folder with nothing in it: the model fails to load, the crisis words check
    (which needs no model) still runs, and nothing heavy loads in a test."""
    missing = tmp_path / "no-weights"
    missing.mkdir(exist_ok=True)
    return str(missing)
