"""Real processes for fault tests: peerchat nodes, private Redis and PostgreSQL, and clients
that keep the books a resuming client must keep (sent, acked, seen), so loss and repeats can be
counted instead of hidden.

Every loop here is bounded in count and time; only loopback addresses are used."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.support import services
from tests.support.processes import free_port, private_redis, wait_port
from tests.support.server import RunningServer, node_settings, serve

SECRET = "faults-test-secret-0123456789-abcdefghijkl"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
FAST = {  # per-connection limits out of the way: these tests are about faults, not abuse
    "messages_per_second": 1000.0,
    "message_burst": 1000,
    "frames_per_second": 2000.0,
    "frame_burst": 2000,
}
FAST_ENV = {
    "PEERCHAT_MESSAGES_PER_SECOND": "1000",
    "PEERCHAT_MESSAGE_BURST": "1000",
    "PEERCHAT_FRAMES_PER_SECOND": "2000",
    "PEERCHAT_FRAME_BURST": "2000",
}


async def wait_ready(
    base_url: str, *, status: int = 200, timeout: float = 60, check: str | None = None,
    value: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Poll /readyz until it answers `status` (and checks[check] == value); the last body."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                r = await http.get("/readyz")
                last = {"status_code": r.status_code, **r.json()}
                if r.status_code == status and (
                    check is None or last["checks"].get(check) == value
                ):
                    return last
            await asyncio.sleep(0.1)
    raise TimeoutError(f"/readyz at {base_url} never answered {status}; last: {last}")


def settings_for(db: str, **overrides: Any) -> Any:
    return node_settings(db, secret_key=SECRET, **{**FAST, **overrides})


# ----------------------------------------------------------------------------- processes


@dataclass
class NodeProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""


@contextmanager
def peerchat_process(env_extra: dict[str, str], log_dir: Path) -> Iterator[NodeProcess]:
    """`peerchat serve` as a real subprocess (python -m app.cli), killed at the end whatever
    happened."""
    port = free_port()
    env = {
        **os.environ,
        "PEERCHAT_SECRET_KEY": SECRET,
        "PEERCHAT_MODEL_ENABLED": "false",
        "PEERCHAT_ADDRESS_RATE_LIMITS": "off",
        "PEERCHAT_LOG_LEVEL": "warning",
        **FAST_ENV,
        **env_extra,
    }
    log = log_dir / f"node-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
    try:
        yield NodeProcess(proc, port, log)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port, that a test may stop and start.
    As root, the binaries run as the `postgres` OS user (initdb refuses root)."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            services.unavailable(f"PostgreSQL binaries in {PG_BIN}", "not installed")
        self.root = Path(tempfile.mkdtemp(prefix="peerchat-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                services.unavailable("runuser (to run PostgreSQL as postgres)", "not found")
            shutil.chown(self.root, "postgres", "postgres")
            self._as = [str(runuser), "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout!r} {done.stderr!r}")

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "pg.log"),
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ----------------------------------------------------------------------------- clients


@dataclass
class Books:
    """What one member saw, across every connection it had."""

    me: str
    sent: list[str] = field(default_factory=list)  # client_msg_ids, in send order
    acks: dict[str, int] = field(default_factory=dict)  # client_msg_id -> seq
    frames: list[int] = field(default_factory=list)  # seqs of message frames, in arrival order
    frames_by_segment: list[list[int]] = field(default_factory=lambda: [[]])
    errors: list[dict[str, Any]] = field(default_factory=list)
    echoes: list[int] = field(default_factory=list)  # own messages sent back after their ack

    @property
    def last_seen(self) -> int:
        return max([*self.frames, *self.acks.values()], default=0)

    def seen(self) -> set[int]:
        return set(self.frames) | set(self.acks.values())

    def problems(self, total: int) -> list[str]:
        """Loss, repeats and disorder against 1..total; empty when delivery was exact."""
        found: list[str] = []
        counts: dict[int, int] = {}
        for seq in self.frames:
            counts[seq] = counts.get(seq, 0) + 1
        repeats = sorted(s for s, n in counts.items() if n > 1)
        if repeats:
            found.append(f"{self.me}: message frames repeated: {repeats[:20]}")
        # An own message may arrive once as a replayed frame when its first ack was lost with
        # the node (the resend's ack follows); a frame after its ack was shown is a repeat.
        if self.echoes:
            found.append(f"{self.me}: own acked messages came back as frames: {self.echoes[:20]}")
        for n, segment in enumerate(self.frames_by_segment):
            if any(b <= a for a, b in itertools.pairwise(segment)):
                found.append(f"{self.me}: connection {n} got frames out of order: {segment[:50]}")
        for a, b in zip(self.frames_by_segment, self.frames_by_segment[1:], strict=False):
            if a and b and b[0] <= max(a):
                found.append(f"{self.me}: resume repeated from seq {b[0]} (had up to {max(a)})")
        missing = sorted(set(range(1, total + 1)) - self.seen())
        if missing:
            found.append(f"{self.me}: missing seqs {missing[:20]} (of {len(missing)})")
        extra = sorted(self.seen() - set(range(1, total + 1)))
        if extra:
            found.append(f"{self.me}: seqs beyond the stored {total}: {extra[:20]}")
        return found


class Member:
    """One member's connection(s): a reader task files every frame into the books."""

    def __init__(self, name: str, token: str, user_id: str, room_id: str) -> None:
        self.books = Books(name)
        self.token = token
        self.user_id = user_id
        self.room_id = room_id
        self.conn: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.other: list[dict[str, Any]] = []  # alerts and the like

    async def connect(self, ws_url: str, *, after_seq: int, new_segment: bool = False) -> None:
        if new_segment:
            self.books.frames_by_segment.append([])
        self.closed = asyncio.Event()
        self.conn = await websockets.connect(ws_url, open_timeout=10, max_size=2**22)
        await self.conn.send(json.dumps({"type": "auth", "token": self.token}))
        ready = json.loads(await asyncio.wait_for(self.conn.recv(), 10))
        assert ready["type"] == "ready", ready
        self.joined = asyncio.Event()
        self.reader = asyncio.create_task(self._read())
        await self.conn.send(
            json.dumps({"type": "join", "room_id": self.room_id, "after_seq": after_seq})
        )
        await asyncio.wait_for(self.joined.wait(), 10)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message" and frame.get("room_id") == self.room_id:
                    if frame["seq"] in self.books.acks.values():
                        self.books.echoes.append(frame["seq"])
                    self.books.frames.append(frame["seq"])
                    self.books.frames_by_segment[-1].append(frame["seq"])
                elif kind == "ack":
                    self.books.acks.setdefault(frame["client_msg_id"], frame["seq"])
                elif kind == "joined":
                    self.joined.set()
                elif kind == "error":
                    self.books.errors.append(frame)
                elif kind in ("alert", "subscribed"):
                    self.other.append(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send(self, body: str, client_msg_id: str | None = None) -> str:
        cid = client_msg_id or uuid.uuid4().hex
        if client_msg_id is None:
            self.books.sent.append(cid)
        await self.conn.send(
            json.dumps({"type": "send", "room_id": self.room_id, "client_msg_id": cid,
                        "body": body})
        )  # fmt: skip
        return cid

    def unacked(self) -> list[str]:
        return [cid for cid in self.books.sent if cid not in self.books.acks]

    async def resend_unacked(self, timeout: float = 15) -> list[str]:
        pending = self.unacked()
        for cid in pending:
            await self.send(f"resent {cid}", client_msg_id=cid)
        await self.wait_for(lambda: not self.unacked(), timeout, "acks for resent messages")
        return pending

    async def wait_for(self, done: Any, timeout: float, what: str) -> None:
        for _ in range(int(timeout / 0.05)):
            if done():
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.books.me}: no {what} within {timeout}s")

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


def delivery_problems(stored: list[tuple[int, str | None]], members: list[Member]) -> list[str]:
    """What storage holds against what each member sent, was acked and was shown."""
    found = storage_problems(stored, members)
    for m in members:
        found += m.books.problems(len(stored))
    return found


def crisis_alert_problems(watcher: Member, room_id: str, where: str) -> list[str]:
    alerts = [f["alert"] for f in watcher.other if f["type"] == "alert"]
    if any(al["room_id"] == room_id and al["severity"] == "crisis" for al in alerts):
        return []
    return [f"the crisis alert never reached {where}: {watcher.other}"]


def storage_problems(stored: list[tuple[int, str | None]], members: list[Member]) -> list[str]:
    found: list[str] = []
    seqs = [seq for seq, _ in stored]
    if seqs != list(range(1, len(seqs) + 1)):
        found.append(f"stored seqs are not gapless 1..N: {seqs[:50]}")
    cids = [cid for _, cid in stored if cid is not None]
    if len(cids) != len(set(cids)):
        found.append("a client_msg_id is stored more than once")
    by_cid = {cid: seq for seq, cid in stored if cid is not None}
    for m in members:
        for cid, seq in m.books.acks.items():
            if by_cid.get(cid) != seq:
                found.append(f"{m.books.me}: acked {cid} as seq {seq}, stored {by_cid.get(cid)}")
        for cid in m.books.sent:
            if cid not in by_cid:
                found.append(f"{m.books.me}: sent {cid} never stored (resend should have)")
    return found


@asynccontextmanager
async def running_senders(
    members: list[Member], *, interval: float, limit: int
) -> AsyncIterator[None]:
    """Each member sends every `interval` s (at most `limit` each) until the block ends or its
    socket goes."""

    async def pump(m: Member) -> None:
        for i in range(limit):
            if m.closed.is_set():
                return
            try:
                await m.send(f"{m.books.me} says {i}")
            except websockets.ConnectionClosed:
                return
            await asyncio.sleep(interval)

    tasks = [asyncio.create_task(pump(m)) for m in members]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


def sigkill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@asynccontextmanager
async def two_nodes_with_own_redis(
    db: str, prefix: str, **overrides: Any
) -> AsyncIterator[tuple[subprocess.Popen[bytes], RunningServer, RunningServer]]:
    """Two nodes on ``db`` sharing a Redis of their own, which the test may hang (SIGSTOP)
    without touching anyone else's; the Redis is resumed before it is stopped, so a failing
    test never leaves a frozen server behind."""
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    namespace = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with ExitStack() as procs:
        redis = procs.enter_context(private_redis(port))
        procs.callback(
            lambda: None if redis.poll() is not None else redis.send_signal(signal.SIGCONT)
        )
        await wait_port(port)
        async with AsyncExitStack() as stack:
            a, b = [
                await stack.enter_async_context(
                    serve(
                        settings_for(
                            db,
                            redis_url=redis_url,
                            redis_namespace=namespace,
                            node_id=n,
                            **overrides,
                        )
                    )
                )
                for n in ("node-a", "node-b")
            ]
            yield redis, a, b
