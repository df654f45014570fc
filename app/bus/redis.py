"""Redis bus: pub/sub fan-out between nodes, and presence as sorted sets that expire.

Events published on this node reach its own subscribers directly, not through Redis, so a node
keeps serving its own clients while Redis is away; other nodes catch up from storage when it
is back (the reconnect callbacks).

Nothing a client waits for waits on Redis: `publish` only queues (a bounded queue, sent by one
task in pipelined batches, each under a time-out), and a watchdog pings Redis so that a server
that hangs (stopped, swapping, a dead link that still looks open) is noticed within about a
second, reported in /readyz and /metrics, and skipped by presence (app/bus/presence.py) until it
answers again; then every node catches up from storage and resubscribes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.bus.base import Bus, Handler, Subscription
from app.bus.registry import RegisteredSubscription, Registry
from app.bus.retry import Backoff
from app.metrics import Metrics

log = logging.getLogger(__name__)
_SEP = b"\x1f"  # between the publishing node's id and the event
_RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)
_STREAM_RETRY_SECONDS = (0.2, 0.5, 1)
STREAM_MAXLEN = 10_000
PUBLISH_BATCH = 200
STREAM_BLOCK_MS = 1000


class _Resync(Exception):
    """Raised inside the reader to rebuild its subscription after Redis hung."""


_Out = tuple[str, bytes, bool, float]
"""(channel, envelope, durable, monotonic time queued; +inf: never too old to send)"""


class RedisBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        node_id: str,
        metrics: Metrics,
        namespace: str = "peerchat",
        op_timeout: float = 1.0,
        queue_size: int = 10_000,
        max_age: float = 30.0,
        stream_max_age: float = 24 * 3600,
    ) -> None:
        self._url = url
        self._node = node_id.encode()
        self._metrics = metrics
        self._ns = namespace
        self._op_timeout = op_timeout
        self._registry = Registry()
        self._reconnect_callbacks: list[Callable[[], Awaitable[None]]] = []
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._background: set[asyncio.Future[None]] = set()
        self._durable: set[str] = set()
        self._stream_reader: asyncio.Task[None] | None = None
        self._queue_size = queue_size
        self._max_age = max_age
        self._stream_max_age = stream_max_age
        self._outbox: deque[_Out] = deque()
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._blocking: Redis | None = None
        self._stalled_since: float | None = None
        self._resync = False
        self._pending_forgets: list[tuple[str, Callable[[bytes], bool]]] = []

    # lifecycle

    async def start(self) -> None:
        self._redis = Redis.from_url(
            self._url,
            socket_connect_timeout=self._op_timeout,
            socket_timeout=self._op_timeout,
            health_check_interval=15,
        )
        # XREAD blocks on the server for up to a second: its socket may wait that long too.
        self._blocking = Redis.from_url(
            self._url,
            socket_connect_timeout=self._op_timeout,
            socket_timeout=self._op_timeout + STREAM_BLOCK_MS / 1000,
        )
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        self._publisher = asyncio.create_task(self._publish_forever(), name="redis-publisher")
        self._watchdog = asyncio.create_task(self._watch(), name="redis-watchdog")
        # Wait briefly so a healthy start is ready at once; a Redis that is down does not stop
        # the node from starting (it serves its own clients and says so in /readyz).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=self._op_timeout)

    async def stop(self) -> None:
        await self._flush(self._op_timeout)
        for task in (self._reader, self._stream_reader, self._publisher, self._watchdog):
            if task is not None:
                await _end(task)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        for client in (self._redis, self._blocking):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._registry.clear()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect_callbacks.append(callback)

    async def healthy(self) -> bool:
        """From the watchdog's last ping: /readyz never waits on a hung Redis."""
        return await self.condition() == "ok"

    async def condition(self) -> str:
        if self._redis is None or not self._connected.is_set():
            return "unavailable"
        return "stalled" if self._stalled_since is not None else "ok"

    @property
    def stalled(self) -> bool:
        return self._stalled_since is not None

    @property
    def client(self) -> Redis | None:
        """The command connection, for what shares this Redis (presence); None before start."""
        return self._redis

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    @property
    def op_timeout(self) -> float:
        return self._op_timeout

    def key(self, name: str) -> str:
        """A key or channel in this service's namespace."""
        return f"{self._ns}:{name}"

    async def _watch(self) -> None:
        """Ping Redis about twice a second. A ping that fails or does not answer in time marks
        Redis stalled; the first answer after that resubscribes and has every node's listeners
        catch up from storage (alerts raised meanwhile reach supervisors within seconds)."""
        assert self._redis is not None
        interval = min(0.5, self._op_timeout)
        while True:
            started = time.monotonic()
            try:
                pong: Any = self._redis.ping()
                await asyncio.wait_for(pong, timeout=self._op_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stalled_since is None:
                    self._stalled_since = time.monotonic()
                    self._metrics.bus_stalled.set(1)
                    log.warning("redis is not answering (%s)", type(exc).__name__)
            else:
                if self._stalled_since is not None:
                    log.info(
                        "redis answering again after %.1fs; resubscribing and catching up",
                        time.monotonic() - self._stalled_since,
                    )
                    self._stalled_since = None
                    self._metrics.bus_stalled.set(0)
                    self._resync = True
                    self._wake.set()
                if self._pending_forgets:
                    await self._retry_forgets()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    # fan-out

    def _key(self, channel: str) -> str:
        return self.key(channel)

    async def publish(
        self, channel: str, data: bytes, *, durable: bool = False, urgent: bool = False
    ) -> None:
        """Deliver here at once and queue for the other nodes; never waits for Redis."""
        self._deliver(channel, data)
        if self._redis is None:
            return
        if len(self._outbox) >= self._queue_size:
            self._outbox.popleft()  # the oldest news goes first; storage still has it
            self._metrics.bus_dropped.inc()
        # Kept events and urgent ones are never too old to send (queued at +inf).
        queued = float("inf") if durable or urgent else time.monotonic()
        self._outbox.append((channel, self._node + _SEP + data, durable, queued))
        self._metrics.bus_queue.set(len(self._outbox))
        self._wake.set()

    def _take_batch(self) -> list[_Out]:
        """Up to PUBLISH_BATCH queued events, leaving out live news too old to matter: other
        nodes catch up from storage when Redis is back. Alerts are never left out."""
        oldest = time.monotonic() - self._max_age
        batch: list[_Out] = []
        while self._outbox and len(batch) < PUBLISH_BATCH:
            item = self._outbox.popleft()
            if item[3] < oldest:
                self._metrics.bus_dropped.inc()
                continue
            batch.append(item)
        return batch

    async def _send_batch(self, batch: list[_Out]) -> None:
        assert self._redis is not None
        min_id = f"{int((time.time() - self._stream_max_age) * 1000)}-0"
        async with self._redis.pipeline(transaction=False) as pipe:
            trimmed: set[str] = set()
            for channel, envelope, durable, _ in batch:
                if durable:
                    key = self._stream_key(channel)
                    pipe.xadd(key, {"e": envelope}, maxlen=STREAM_MAXLEN, approximate=True)
                    trimmed.add(key)
                else:
                    pipe.publish(self._key(channel), envelope)
            for key in trimmed:  # bounded by age as well as by length
                pipe.xtrim(key, minid=min_id, approximate=False)
            await asyncio.wait_for(pipe.execute(), timeout=self._op_timeout)

    async def _publish_forever(self) -> None:
        backoff = Backoff(_RETRY_SECONDS)
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            if self._stalled_since is not None:
                # Do not queue more on a socket that does not answer: wait for the watchdog.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            batch = self._take_batch()
            self._metrics.bus_queue.set(len(self._outbox))
            if not batch:
                continue
            try:
                await self._send_batch(batch)
                backoff.succeeded()
            except asyncio.CancelledError:
                self._outbox.extendleft(reversed(batch))
                raise
            except Exception as exc:
                self._outbox.extendleft(reversed(batch))  # sent again, in order, when Redis is back
                self._metrics.bus_errors.inc()
                delay = backoff.failed()
                log.warning(
                    "redis publish failed (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)

    async def _flush(self, seconds: float) -> None:
        """On a clean stop: give what is queued a moment to go out."""
        deadline = time.monotonic() + seconds
        while self._outbox and self._redis is not None and time.monotonic() < deadline:
            if self.stalled:
                return
            await asyncio.sleep(0.02)

    async def forget(self, channel: str, match: Callable[[bytes], bool]) -> int:
        """Delete from a durable channel's stream every kept event that `match`es ("delete my
        data"), and drop such events still queued here. With Redis away or hung it is done when
        Redis answers again (and the stream's age bound removes them in any case)."""
        try:
            return await self._forget(channel, match)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("redis forget deferred until redis answers (%s)", type(exc).__name__)
            self._pending_forgets.append((channel, match))
            return 0

    async def _retry_forgets(self) -> None:
        pending, self._pending_forgets = self._pending_forgets, []
        for channel, match in pending:
            await self.forget(channel, match)

    async def _forget(self, channel: str, match: Callable[[bytes], bool]) -> int:
        kept = deque(
            item
            for item in self._outbox
            if not (item[0] == channel and match(item[1].partition(_SEP)[2]))
        )
        self._outbox = kept
        if self._redis is None or self.stalled:
            raise TimeoutError("redis is not answering")
        key = self._stream_key(channel)
        removed = 0
        start = "-"
        while True:
            entries = await asyncio.wait_for(
                self._redis.xrange(key, min=start, count=500), timeout=self._op_timeout * 2
            )
            doomed = [
                entry_id for entry_id, fields in entries
                if match(fields.get(b"e", b"").partition(_SEP)[2])
            ]  # fmt: skip
            if doomed:
                removed += int(
                    await asyncio.wait_for(self._redis.xdel(key, *doomed), self._op_timeout * 2)
                )
            if len(entries) < 500:
                return removed
            start = "(" + entries[-1][0].decode()

    async def subscribe(
        self, channel: str, handler: Handler, *, durable: bool = False
    ) -> Subscription:
        subscription = RegisteredSubscription(channel, handler, self._unsubscribe)
        first = self._registry.add(channel, handler)
        if durable:
            self._durable.add(channel)
            if self._stream_reader is None:
                self._stream_reader = asyncio.create_task(self._read_streams())
            return subscription
        if first and self._pubsub is not None and self._connected.is_set() and not self.stalled:
            try:
                await asyncio.wait_for(
                    self._pubsub.subscribe(self._key(channel)), timeout=self._op_timeout
                )
            except (RedisError, OSError, TimeoutError):
                self._metrics.bus_errors.inc()
                self._resync = True  # the reader rebuilds its subscription
        return subscription

    async def _unsubscribe(self, channel: str, handler: Handler) -> None:
        if not self._registry.remove(channel, handler):
            return
        if channel in self._durable:
            self._durable.discard(channel)
            return
        if self._pubsub is not None and self._connected.is_set() and not self.stalled:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(
                    self._pubsub.unsubscribe(self._key(channel)), timeout=self._op_timeout
                )

    def _deliver(self, channel: str, data: bytes) -> None:
        self._registry.deliver(channel, data)

    async def _read_forever(self) -> None:
        backoff = Backoff(_RETRY_SECONDS)
        prefix = f"{self._ns}:"
        while True:
            try:
                assert self._redis is not None
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                # A placeholder channel keeps the connection in subscribed mode even when this
                # node has no rooms yet.
                channels = [
                    self._key(c) for c in self._registry.channels() if c not in self._durable
                ]
                channels.append(self._key("node:control"))
                await self._pubsub.subscribe(*channels)
                self._connected.set()
                if backoff.succeeded():
                    log.info("redis bus reconnected; catching up from storage")
                    for callback in self._reconnect_callbacks:
                        task = asyncio.ensure_future(callback())
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                while True:
                    if self._resync:
                        self._resync = False
                        raise _Resync
                    message = await self._pubsub.get_message(timeout=0.5)
                    if message is None or message.get("type") != "message":
                        continue
                    self._on_message(message, prefix)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                resync = isinstance(exc, _Resync)
                if not resync:
                    self._connected.clear()
                    self._metrics.bus_errors.inc()
                delay = backoff.failed()
                if resync:
                    delay = 0.0  # Redis answers: rebuild now (still counted, so listeners catch up)
                if not resync:
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
        assert self._blocking is not None
        redis = self._blocking
        positions: dict[str, str] = {}
        backoff = Backoff(_STREAM_RETRY_SECONDS)
        while True:
            try:
                for channel in self._durable:
                    if channel not in positions:
                        # Start at the current end: what came before is in the database.
                        last = await redis.xrevrange(self._stream_key(channel), count=1)
                        positions[channel] = last[0][0].decode() if last else "0-0"
                streams = {self._stream_key(c): positions[c] for c in self._durable}
                found = await redis.xread(streams, count=100, block=STREAM_BLOCK_MS)  # type: ignore[arg-type]
                backoff.succeeded()
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
                delay = backoff.failed()
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


async def _end(task: asyncio.Task[None]) -> None:
    """Cancel a loop and wait until it has ended. Cancelled again until it has: on Python 3.11
    a wait_for whose operation finishes just as the cancel arrives returns its result and loses
    the cancel, and the loop would then wait on forever (a stop that never returns)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()
