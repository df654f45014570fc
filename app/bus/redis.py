"""Redis bus: pub/sub fan-out between nodes, and presence as sorted sets that expire.

Events published on this node reach its own subscribers directly, not through Redis, so a node
keeps serving its own clients while Redis is away; other nodes catch up from storage when it
is back (the reconnect callbacks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.bus.base import Bus, Handler, PresenceEntry, Subscription
from app.metrics import Metrics

log = logging.getLogger(__name__)
_SEP = b"\x1f"  # between the publishing node's id and the event
_RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)
STREAM_MAXLEN = 10_000


class _RedisSubscription(Subscription):
    def __init__(self, bus: RedisBus, channel: str, handler: Handler) -> None:
        self._bus = bus
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        await self._bus._unsubscribe(self._channel, self._handler)


class RedisBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        node_id: str,
        metrics: Metrics,
        namespace: str = "peerchat",
        op_timeout: float = 2.0,
    ) -> None:
        self._url = url
        self._node = node_id.encode()
        self._metrics = metrics
        self._ns = namespace
        self._op_timeout = op_timeout
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._reconnect_callbacks: list[Callable[[], Awaitable[None]]] = []
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._background: set[asyncio.Future[None]] = set()
        self._durable: set[str] = set()
        self._stream_reader: asyncio.Task[None] | None = None

    # lifecycle

    async def start(self) -> None:
        self._redis = Redis.from_url(
            self._url,
            socket_connect_timeout=self._op_timeout,
            socket_timeout=self._op_timeout,
            health_check_interval=15,
        )
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        # Wait briefly so a healthy start is ready at once; a Redis that is down does not stop
        # the node from starting (it serves its own clients and says so in /readyz).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=self._op_timeout)

    async def stop(self) -> None:
        for task in (self._reader, self._stream_reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        self._handlers.clear()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect_callbacks.append(callback)

    async def healthy(self) -> bool:
        if self._redis is None or not self._connected.is_set():
            return False
        try:
            pong: Any = self._redis.ping()
            return bool(await asyncio.wait_for(pong, timeout=self._op_timeout))
        except (RedisError, OSError, TimeoutError):
            return False

    # fan-out

    def _key(self, channel: str) -> str:
        return f"{self._ns}:{channel}"

    async def publish(self, channel: str, data: bytes, *, durable: bool = False) -> None:
        self._deliver(channel, data)
        if self._redis is None:
            return
        envelope = self._node + _SEP + data
        try:
            if durable:
                await self._redis.xadd(
                    self._stream_key(channel), {"e": envelope}, maxlen=STREAM_MAXLEN,
                    approximate=True,
                )  # fmt: skip
            else:
                await self._redis.publish(self._key(channel), envelope)
        except (RedisError, OSError, TimeoutError) as exc:
            self._metrics.bus_errors.inc()
            log.warning("redis publish on %s failed: %s", channel, type(exc).__name__)

    async def subscribe(
        self, channel: str, handler: Handler, *, durable: bool = False
    ) -> Subscription:
        if durable:
            self._handlers[channel].append(handler)
            self._durable.add(channel)
            if self._stream_reader is None:
                self._stream_reader = asyncio.create_task(self._read_streams())
            return _RedisSubscription(self, channel, handler)
        first = channel not in self._handlers
        self._handlers[channel].append(handler)
        if first and self._pubsub is not None and self._connected.is_set():
            try:
                await self._pubsub.subscribe(self._key(channel))
            except (RedisError, OSError, TimeoutError):
                self._metrics.bus_errors.inc()  # the reader resubscribes on reconnect
        return _RedisSubscription(self, channel, handler)

    async def _unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return
        handlers.remove(handler)
        if handlers:
            return
        del self._handlers[channel]
        if channel in self._durable:
            self._durable.discard(channel)
            return
        if self._pubsub is not None and self._connected.is_set():
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await self._pubsub.unsubscribe(self._key(channel))

    def _deliver(self, channel: str, data: bytes) -> None:
        for handler in tuple(self._handlers.get(channel, ())):
            try:
                handler(data)
            except Exception:
                log.exception("bus handler failed on %s", channel)

    async def _read_forever(self) -> None:
        attempt = 0
        prefix = f"{self._ns}:"
        while True:
            try:
                assert self._redis is not None
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                # A placeholder channel keeps the connection in subscribed mode even when this
                # node has no rooms yet.
                channels = [self._key(c) for c in self._handlers if c not in self._durable]
                channels.append(self._key("node:control"))
                await self._pubsub.subscribe(*channels)
                recovering = attempt > 0
                attempt = 0
                self._connected.set()
                if recovering:
                    log.info("redis bus reconnected; catching up from storage")
                    for callback in self._reconnect_callbacks:
                        task = asyncio.ensure_future(callback())
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                while True:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    self._on_message(message, prefix)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected.clear()
                self._metrics.bus_errors.inc()
                delay = _RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning("redis bus lost (%s); retrying in %.1fs", type(exc).__name__, delay)
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
                    self._pubsub = None
                await asyncio.sleep(delay)

    def _stream_key(self, channel: str) -> str:
        return f"{self._ns}:stream:{channel}"

    async def _read_streams(self) -> None:
        """Read durable channels from where this node left off, across broken links."""
        assert self._redis is not None
        positions: dict[str, str] = {}
        attempt = 0
        while True:
            try:
                for channel in self._durable:
                    if channel not in positions:
                        # Start at the current end: what came before is in the database.
                        last = await self._redis.xrevrange(self._stream_key(channel), count=1)
                        positions[channel] = last[0][0].decode() if last else "0-0"
                streams = {self._stream_key(c): positions[c] for c in self._durable}
                found = await self._redis.xread(streams, count=100, block=1000)  # type: ignore[arg-type]
                attempt = 0
                for key, entries in found or ():
                    channel = key.decode().removeprefix(f"{self._ns}:stream:")
                    for entry_id, fields in entries:
                        positions[channel] = entry_id.decode()
                        node, _, data = fields[b"e"].partition(_SEP)
                        if node != self._node:
                            self._deliver(channel, data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = _RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning("redis stream read failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)

    def _on_message(self, message: dict[str, Any], prefix: str) -> None:
        raw = message["data"]
        node, _, data = raw.partition(_SEP)
        if node == self._node:
            return  # delivered locally when published
        channel = message["channel"].decode()
        if channel.startswith(prefix):
            self._deliver(channel[len(prefix) :], data)

    # presence

    def _presence_key(self, room_id: str) -> str:
        return f"{self._ns}:presence:{room_id}"

    @staticmethod
    def _member(entry: PresenceEntry) -> str:
        return f"{entry[0]}\x1f{entry[1]}"

    async def presence_set(
        self, room_id: str, entries: Sequence[PresenceEntry], ttl_seconds: float
    ) -> None:
        if not entries or self._redis is None:
            return
        expires = time.time() + ttl_seconds
        key = self._presence_key(room_id)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {self._member(e): expires for e in entries})
                pipe.expire(key, int(ttl_seconds * 4))
                await pipe.execute()
        except (RedisError, OSError, TimeoutError):
            self._metrics.bus_errors.inc()

    async def presence_remove(self, room_id: str, entries: Sequence[PresenceEntry]) -> None:
        if not entries or self._redis is None:
            return
        try:
            await self._redis.zrem(self._presence_key(room_id), *[self._member(e) for e in entries])
        except (RedisError, OSError, TimeoutError):
            self._metrics.bus_errors.inc()

    async def presence_list(self, room_id: str) -> list[str]:
        if self._redis is None:
            raise ConnectionError("redis bus not started")
        key = self._presence_key(room_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        return sorted({m.decode().split("\x1f", 1)[1] for m in members})
