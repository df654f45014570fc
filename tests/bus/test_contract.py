"""What every bus backend promises the rest of the service (app/bus/base.py, presence.py):
fan-out to every subscriber on every node in publish order, subscriptions that end when
closed, a failing handler that harms no other, kept (durable) events that can be forgotten,
and presence that lists each handle once and expires unless refreshed."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.bus.factory import Backend, open_backend
from app.bus.memory import MemoryBus
from app.bus.presence import MemoryPresence, RedisPresence
from app.bus.redis import RedisBus
from app.bus.retry import Backoff
from app.bus.url import BusUrlError, backend_for
from app.metrics import Metrics
from app.settings import SettingsError
from tests.bus.conftest import OpenNode
from tests.support.server import node_settings

PROBE = b"probe"


class Recorder:
    """Records what a handler was given, leaving out the probes that settle a subscription."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.probed = False

    def __call__(self, data: bytes) -> None:
        if data == PROBE:
            self.probed = True
        else:
            self.got.append(data)


async def until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.01)


async def settled(
    sender: Backend, channel: str, recorder: Recorder, *, durable: bool = False
) -> None:
    """Publish probes until the recorder has one: its subscription is then in place on the
    other node (a Redis SUBSCRIBE or stream read is not instant)."""
    deadline = time.monotonic() + 5.0
    while not recorder.probed:
        assert time.monotonic() < deadline, f"subscription to {channel} never took effect"
        await sender.bus.publish(channel, PROBE, durable=durable)
        await asyncio.sleep(0.05)


async def test_each_subscriber_on_every_node_gets_every_event_in_order(
    open_node: OpenNode,
) -> None:
    a, b = await open_node(), await open_node()
    here, there, also_there = Recorder(), Recorder(), Recorder()
    await a.bus.subscribe("room:x", here)
    await b.bus.subscribe("room:x", there)
    await settled(a, "room:x", there)
    await b.bus.subscribe("room:x", also_there)
    sent = [f"event {i}".encode() for i in range(100)]
    for data in sent:
        await a.bus.publish("room:x", data)
    await until(lambda: len(there.got) >= 100 and len(also_there.got) >= 100)
    await asyncio.sleep(0.1)  # nothing more (no repeats) arrives
    assert here.got == sent
    assert there.got == sent
    assert also_there.got == sent


async def test_a_closed_subscription_gets_nothing_more_and_the_others_keep_theirs(
    open_node: OpenNode,
) -> None:
    a, b = await open_node(), await open_node()
    closing, staying, other_channel = Recorder(), Recorder(), Recorder()
    subscription = await b.bus.subscribe("room:x", closing)
    await b.bus.subscribe("room:x", staying)
    await b.bus.subscribe("room:y", other_channel)
    await settled(a, "room:x", staying)
    await settled(a, "room:y", other_channel)
    await a.bus.publish("room:x", b"before")
    await until(lambda: closing.got == [b"before"])
    await subscription.close()
    await a.bus.publish("room:x", b"after")
    await a.bus.publish("room:y", b"marker")  # sent after: once here, "after" has been handled
    await until(lambda: other_channel.got == [b"marker"])
    await until(lambda: staying.got == [b"before", b"after"])
    assert closing.got == [b"before"]
    assert other_channel.got == [b"marker"]  # channels are separate


async def test_the_last_subscription_closed_stops_delivery_to_that_node(
    open_node: OpenNode,
) -> None:
    a, b = await open_node(), await open_node()
    gone, marker = Recorder(), Recorder()
    subscription = await b.bus.subscribe("room:z", gone)
    await b.bus.subscribe("room:m", marker)
    await settled(a, "room:z", gone)
    await settled(a, "room:m", marker)
    await subscription.close()
    await a.bus.publish("room:z", b"unheard")
    await a.bus.publish("room:m", b"marker")
    await until(lambda: marker.got == [b"marker"])
    assert gone.got == []


async def test_a_failing_handler_does_not_stop_the_others(open_node: OpenNode) -> None:
    a = await open_node()
    calls: list[bytes] = []

    def failing(data: bytes) -> None:
        calls.append(data)
        raise RuntimeError("a broken listener")

    after = Recorder()
    await a.bus.subscribe("room:f", failing)
    await a.bus.subscribe("room:f", after)
    await a.bus.publish("room:f", b"one")
    await a.bus.publish("room:f", b"two")
    await until(lambda: after.got == [b"one", b"two"])
    assert calls == [b"one", b"two"]


async def test_kept_events_reach_other_nodes_and_can_be_forgotten(open_node: OpenNode) -> None:
    a, b = await open_node(), await open_node()
    kept = Recorder()
    await b.bus.subscribe("staff:alerts", kept, durable=True)
    await settled(a, "staff:alerts", kept, durable=True)
    await a.bus.publish("staff:alerts", b"alert about room r1", durable=True)
    await a.bus.publish("staff:alerts", b"alert about room r2", durable=True)
    await until(lambda: len(kept.got) == 2)
    assert kept.got == [b"alert about room r1", b"alert about room r2"]
    removed = await a.bus.forget("staff:alerts", lambda data: b"r1" in data)
    # Only Redis keeps events (a stream); the in-process bus has nothing to forget.
    assert removed == (1 if isinstance(a.bus, RedisBus) else 0)
    assert await a.bus.forget("staff:alerts", lambda data: b"r1" in data) == 0


async def test_a_started_bus_reports_itself_healthy(open_node: OpenNode) -> None:
    a = await open_node()
    assert await a.bus.healthy()
    assert await a.bus.condition() == "ok"


async def test_presence_lists_each_handle_once_across_nodes(open_node: OpenNode) -> None:
    a, b = await open_node(), await open_node()
    await a.presence.set("r", [("conn-1", "calm-otter"), ("conn-2", "calm-otter")], 30)
    await b.presence.set("r", [("conn-3", "brave-fox")], 30)
    await b.presence.set("r", [], 30)  # nothing to add is not an error
    assert await a.presence.online("r") == ["brave-fox", "calm-otter"]
    assert await b.presence.online("r") == ["brave-fox", "calm-otter"]
    await a.presence.remove("r", [("conn-1", "calm-otter")])
    assert await b.presence.online("r") == ["brave-fox", "calm-otter"]  # still on conn-2
    await a.presence.remove("r", [("conn-2", "calm-otter")])
    await b.presence.remove("r", [("conn-3", "brave-fox")])
    assert await a.presence.online("r") == []
    assert await a.presence.online("never-used") == []


async def test_presence_expires_unless_refreshed(open_node: OpenNode) -> None:
    a, b = await open_node(), await open_node()
    await a.presence.set("r", [("conn-1", "crashed-node-user")], 0.4)
    await b.presence.set("r", [("conn-2", "live-user")], 0.4)
    await asyncio.sleep(0.25)
    await b.presence.set("r", [("conn-2", "live-user")], 0.4)  # b's sweep refreshes; a crashed
    await asyncio.sleep(0.25)
    assert await b.presence.online("r") == ["live-user"]
    await asyncio.sleep(0.3)
    assert await b.presence.online("r") == []


def test_each_backend_has_its_own_presence() -> None:
    memory = open_backend("memory://", node_id="n", metrics=Metrics())
    assert isinstance(memory.bus, MemoryBus) and isinstance(memory.presence, MemoryPresence)
    for url in ("redis://127.0.0.1:1/0", "rediss://example.org:6380", "unix:///run/redis.sock"):
        redis = open_backend(url, node_id="n", metrics=Metrics())
        assert isinstance(redis.bus, RedisBus) and isinstance(redis.presence, RedisPresence)


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        (None, "memory"),
        ("", "memory"),
        ("memory://", "memory"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("REDIS://host", "redis"),
        ("rediss://user:secret@host:6380/1", "redis"),
        ("unix:///var/run/redis.sock?db=0", "redis"),
    ],
)
def test_the_backend_is_chosen_by_scheme(url: str | None, backend: str) -> None:
    assert backend_for(url) == backend


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis-cluster://h"])
def test_an_unknown_scheme_is_a_start_up_error(url: str) -> None:
    with pytest.raises(BusUrlError, match="unknown scheme"):
        backend_for(url)
    with pytest.raises(BusUrlError):
        open_backend(url, node_id="n", metrics=Metrics())
    with pytest.raises(SettingsError, match="PEERCHAT_REDIS_URL has an unknown scheme"):
        node_settings("sqlite+aiosqlite:///:memory:", redis_url=url)


def test_backoff_grows_to_its_last_step_and_starts_over_after_a_success() -> None:
    backoff = Backoff((0.2, 0.5, 1))
    assert not backoff.succeeded()  # no failures yet: not a recovery
    assert [backoff.failed() for _ in range(5)] == [0.2, 0.5, 1.0, 1.0, 1.0]
    assert backoff.succeeded()
    assert backoff.failed() == 0.2
