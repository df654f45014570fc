"""Shared pieces of the benchmark suite: servers as subprocesses, set-up through the real HTTP
API, multiprocess WebSocket load generators, and table printing.

Every load loop here is bounded in count and in time, and only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# One way to find a free port, shared with the tests (re-exported for the benchmarks).
from tests.support.processes import free_port as free_port

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PEERCHAT = str(Path(PY).with_name("peerchat"))
SECRET = "bench-" + "k" * 48
STAFF_PASSWORD = "bench password that is long enough"
BODY_PREFIX = "bench"


# ----------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpus (nproc)": str(os.cpu_count()),
        "cpu model": model,
        "memory": mem,
        "python": platform.python_version(),
        "load average at start": load,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def print_machine() -> None:
    for key, value in machine().items():
        print(f"# {key}: {value}")


def raise_nofile(want: int = 65536) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, want), hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ----------------------------------------------------------------------------- tables


def table(rows: Sequence[dict[str, Any]], title: str = "") -> str:
    if not rows:
        return f"{title}\n(no rows)\n"
    cols = list(rows[0].keys())
    for row in rows[1:]:
        for key in row:
            if key not in cols:
                cols.append(key)

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if math.isnan(v):
                return "-"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"
        return "-" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out = [title] if title else []
    out.append("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        out.append("| " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out) + "\n"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


# ----------------------------------------------------------------------------- processes


@dataclass
class ServerProc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    host: str = "127.0.0.1"
    tmp: str | None = None
    log_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def terminate(self, sig: int = signal.SIGINT, timeout: float = 15) -> float:
        """Signal the server, kill it if it has not exited within `timeout`; seconds taken."""
        t = time.monotonic()
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return time.monotonic() - t

    def stop(self) -> None:
        self.terminate()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n: int = 30) -> str:
        if not self.log_path:
            return ""
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
        return ""


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {timeout}s (last: {last})")


def bench_env(tmp: str, **extra: str) -> dict[str, str]:
    """peerchat on embedded defaults, with address limits off and per-connection limits raised
    for the load test (storage and scoring stay on)."""
    env = dict(os.environ)
    env.update(
        {
            "PEERCHAT_DEV_MODE": "true",
            "PEERCHAT_SECRET_KEY": SECRET,
            "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/peerchat.db",
            "PEERCHAT_ADDRESS_RATE_LIMITS": "off",
            "PEERCHAT_MESSAGES_PER_SECOND": "100000",
            "PEERCHAT_MESSAGE_BURST": "100000",
            "PEERCHAT_FRAMES_PER_SECOND": "100000",
            "PEERCHAT_FRAME_BURST": "100000",
            "PEERCHAT_WORKER_MAX_ROOMS": "100000",
            # The peer worker holds one socket per one-to-one room.
            "PEERCHAT_MAX_SOCKETS_PER_IDENTITY": "100000",
            "PEERCHAT_SEND_QUEUE_SIZE": "4096",
            "PEERCHAT_LOG_LEVEL": "WARNING",
            "PEERCHAT_MODEL_ENABLED": "true",
        }
    )
    env.pop("PEERCHAT_REDIS_URL", None)
    env.update(extra)
    return env


def create_staff(env: dict[str, str], username: str, role: str) -> None:
    r = subprocess.run(
        [PEERCHAT, "users", "create", "--username", username, "--role", role, "--password-stdin"],
        input=(STAFF_PASSWORD + "\n").encode(),
        env=env,
        capture_output=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise RuntimeError(f"users create {username}: {r.stderr.decode()[-500:]}")


def start_peerchat(
    *,
    staff: Sequence[tuple[str, str]] = (),
    env_extra: dict[str, str] | None = None,
    tmp: str | None = None,
    port: int | None = None,
    ready_timeout: float = 300.0,
    name: str = "peerchat",
    create_users: bool = True,
) -> ServerProc:
    """`peerchat serve` as a real subprocess; staff accounts made with the CLI beforehand."""
    own_tmp = tmp is None
    tmp = tmp or tempfile.mkdtemp(prefix="peerchat-bench-")
    env = bench_env(tmp, **(env_extra or {}))
    if create_users:
        for username, role in staff:
            create_staff(env, username, role)
    port = port or free_port()
    log_path = os.path.join(tmp, f"{name}-{port}.log")
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child
    popen = subprocess.Popen(
        [PEERCHAT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp,
    )
    server = ServerProc(name, popen, port, tmp=tmp if own_tmp else None, log_path=log_path)
    try:
        wait_http(f"{server.http}/readyz", ready_timeout, popen)
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        server.stop()
        raise
    return server


NODE_BASELINE = ROOT / "bench" / "baselines" / "socketio_node"
"""Socket.IO on Node.js: `npm ci` there installs its locked packages into node_modules."""


def node_binary() -> str:
    node = os.environ.get("NODE") or shutil.which("node")
    if node is None:
        raise RuntimeError("the Node.js baseline needs node (v20 or later) on PATH or in $NODE")
    return node


def start_baseline(kind: str, port: int | None = None) -> ServerProc:
    port = port or free_port()
    if kind == "socketio_node":
        argv = [node_binary(), str(NODE_BASELINE / "server.js"), "--port", str(port)]
        if not (NODE_BASELINE / "node_modules" / "socket.io").is_dir():
            raise RuntimeError(
                f"the Node.js baseline needs its packages: cd {NODE_BASELINE.relative_to(ROOT)} "
                "&& npm ci"
            )
    else:
        module = {
            "bare_ws": "bench.baselines.bare_ws",
            "socketio": "bench.baselines.socketio_server",
        }[kind]
        argv = [PY, "-m", module, "--port", str(port)]
    tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    log_path = os.path.join(tmp, "server.log")
    log = open(log_path, "wb")  # noqa: SIM115
    popen = subprocess.Popen(
        argv,
        cwd=str(ROOT),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ServerProc(kind, popen, port, tmp=tmp, log_path=log_path)
    try:
        wait_http(f"{server.http}/healthz", 30, popen)
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        server.stop()
        raise
    return server


class ProcSampler:
    """CPU seconds and RSS of a server process (and its children) between two points."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self._cpu0 = 0.0
        self._t0 = 0.0

    def _procs(self) -> list[Any]:
        import psutil

        procs = [self.proc]
        with contextlib.suppress(psutil.Error):
            procs += self.proc.children(recursive=True)
        return procs

    def cpu(self) -> float:
        import psutil

        total = 0.0
        for p in self._procs():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss(self) -> int:
        import psutil

        total = 0
        for p in self._procs():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def start(self) -> None:
        self._cpu0 = self.cpu()
        self._t0 = time.monotonic()

    def stop(self) -> tuple[float, int]:
        """(cores used on average, RSS bytes now)."""
        wall = max(1e-9, time.monotonic() - self._t0)
        return (self.cpu() - self._cpu0) / wall, self.rss()


# ----------------------------------------------------------------------------- set-up (HTTP)


@dataclass
class Client:
    """One WebSocket connection of the workload: who it is and the one room it joins."""

    token: str
    room_id: str
    room_size: int
    kind: str  # "group" or "dm"
    url: str | None = None  # another node's /ws; None: the run's url


async def _gather_limited(coros: list[Any], limit: int = 16) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def run(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(run(c) for c in coros))


async def _post(http: Any, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    for attempt in range(5):
        r = await http.post(path, json=body if body is not None else {}, headers=headers)
        if r.status_code in (200, 201):
            return r.json()
        if r.status_code in (429, 503) or r.status_code >= 500:
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
    raise RuntimeError(f"POST {path}: gave up")


async def login(http: Any, username: str) -> str:
    data = await _post(
        http, "/api/v1/auth/login", {"username": username, "password": STAFF_PASSWORD}
    )
    return str(data["token"])


async def setup_workload(
    base_url: str,
    n_clients: int,
    *,
    group_size: int = 10,
    group_share: float = 0.5,
    workers: Sequence[str] = ("bench-worker-0",),
    seed: int = 7,
) -> list[Client]:
    """Participants in group rooms of `group_size` and one-to-one rooms (a participant and a
    peer worker's connection), all through the public HTTP API."""
    import httpx

    n_group = round(n_clients * group_share / group_size) * group_size
    n_dm_rooms = (n_clients - n_group) // 2
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        worker_tokens = [await login(http, w) for w in workers]
        n_participants = n_group + n_dm_rooms
        sessions = await _gather_limited(
            [_post(http, "/api/v1/sessions/anonymous", {}) for _ in range(n_participants)]
        )
        tokens = [s["token"] for s in sessions]
        clients: list[Client] = []
        n_groups = n_group // group_size
        groups = await _gather_limited(
            [
                _post(http, "/api/v1/groups", {"name": f"bench group {g}"}, worker_tokens[0])
                for g in range(n_groups)
            ]
        )
        joins = []
        for g, grp in enumerate(groups):
            for i in range(group_size):
                tok = tokens[g * group_size + i]
                joins.append(_post(http, f"/api/v1/groups/{grp['room_id']}/join", {}, tok))
                clients.append(Client(tok, grp["room_id"], group_size, "group"))
        await _gather_limited(joins)
        dm_tokens = tokens[n_group:]
        reqs = await _gather_limited(
            [_post(http, "/api/v1/support-requests", {"topic": "sleep"}, t) for t in dm_tokens]
        )
        claims = []
        for i, (tok, req) in enumerate(zip(dm_tokens, reqs, strict=True)):
            wtok = worker_tokens[i % len(worker_tokens)]
            claims.append(_post(http, f"/api/v1/rooms/{req['room_id']}/claim", {}, wtok))
            clients.append(Client(tok, req["room_id"], 2, "dm"))
            clients.append(Client(wtok, req["room_id"], 2, "dm"))
        await _gather_limited(claims, limit=8)
    random.Random(seed).shuffle(clients)
    return clients


def baseline_workload(
    n_clients: int, group_size: int = 10, group_share: float = 0.5
) -> list[Client]:
    """The same room shapes for the baselines (they take any token and any room id)."""
    n_group = round(n_clients * group_share / group_size) * group_size
    n_dm_rooms = (n_clients - n_group) // 2
    clients = [
        Client(f"t{i}", f"group-{i // group_size}", group_size, "group") for i in range(n_group)
    ]
    for r in range(n_dm_rooms):
        clients += [Client(f"p{r}", f"dm-{r}", 2, "dm"), Client(f"w{r}", f"dm-{r}", 2, "dm")]
    random.Random(7).shuffle(clients)
    return clients


# ----------------------------------------------------------------------------- load generator


@dataclass
class LoadSpec:
    url: str
    protocol: str  # "peerchat" (also the bare websockets baseline) or "socketio"
    mode: str  # "rate" or "full"
    rate: float  # total messages per second over all processes ("rate" mode)
    warmup: float
    duration: float
    drain: float = 2.0
    window: int = 1  # outstanding unacked sends per client ("full" mode)
    deflate: bool = False
    body_pad: int = 40
    sources: int = 1  # loopback source addresses 127.0.0.x to spread over
    run_id: str = ""  # prefix of client_msg_id, fresh per run (set by run_load)


@dataclass
class LoadResult:
    sent: int = 0
    acked: int = 0
    expected: int = 0
    delivered_window: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    connect_seconds: float = 0.0
    closed: int = 0


def _encode_out(protocol: str, frame: dict[str, Any]) -> str:
    if protocol == "socketio":
        kind = frame.pop("type")
        return "42" + orjson.dumps([kind, frame]).decode()
    return orjson.dumps(frame).decode()


def _decode_in(protocol: str, text: str | bytes) -> dict[str, Any] | None:
    if protocol == "socketio":
        if isinstance(text, bytes):
            text = text.decode()
        if text.startswith("42"):
            kind, data = orjson.loads(text[2:])
            data["type"] = kind
            return data
        return {"type": "_eio", "raw": text}
    return orjson.loads(text)


async def _connect(spec: LoadSpec, index: int, url: str | None = None) -> Any:
    import websockets

    kwargs: dict[str, Any] = {
        "compression": "deflate" if spec.deflate else None,
        "max_queue": None,
        "ping_interval": None,
        "open_timeout": 60,
        "close_timeout": 2,
        "max_size": 2**20,
    }
    if spec.sources > 1:
        kwargs["local_addr"] = (f"127.0.0.{2 + index % spec.sources}", 0)
    url = url or spec.url
    if spec.protocol == "socketio":
        url = url.replace("/ws", "/socket.io/?EIO=4&transport=websocket")
    return await websockets.connect(url, **kwargs)


async def open_client(spec: LoadSpec, client: Client, index: int) -> Any:
    """Connect, authenticate and join the client's room; returns the socket."""
    ws = await _connect(spec, index, client.url)
    if spec.protocol == "socketio":
        await ws.recv()  # engine.io open packet
        await ws.send("40" + orjson.dumps({"token": client.token}).decode())
        while not str(await ws.recv()).startswith("40"):
            pass
        await ws.send(_encode_out("socketio", {"type": "join", "room_id": client.room_id}))
        while True:
            msg = _decode_in("socketio", await ws.recv())
            if msg and msg.get("type") == "joined":
                break
        return ws
    await ws.send(orjson.dumps({"type": "auth", "token": client.token}).decode())
    ready = orjson.loads(await ws.recv())
    if ready.get("type") != "ready":
        raise RuntimeError(f"auth failed: {ready}")
    await ws.send(orjson.dumps({"type": "join", "room_id": client.room_id}).decode())
    while True:
        msg = orjson.loads(await ws.recv())
        if msg.get("type") == "joined":
            return ws
        if msg.get("type") == "error":
            raise RuntimeError(f"join failed: {msg}")


def _load_worker(
    spec: LoadSpec, clients: list[Client], offset: int, nprocs: int, conn: Any
) -> None:
    """One load-generator process: its share of the clients, its share of the rate."""
    raise_nofile()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(_load_main(spec, clients, offset, nprocs, conn))
    conn.send(result)
    conn.close()


async def _load_main(
    spec: LoadSpec, clients: list[Client], offset: int, nprocs: int, pipe: Any
) -> LoadResult:
    res = LoadResult()
    loop = asyncio.get_running_loop()
    t_connect = time.monotonic()
    sockets: list[Any] = [None] * len(clients)

    async def one(i: int) -> None:
        for attempt in range(3):
            try:
                sockets[i] = await open_client(spec, clients[i], offset + i)
                return
            except Exception as exc:
                key = f"connect:{type(exc).__name__}"
                res.errors[key] = res.errors.get(key, 0) + 1
                await asyncio.sleep(0.5 * (attempt + 1))

    sem = asyncio.Semaphore(64)

    async def limited(i: int) -> None:
        async with sem:
            await one(i)

    await asyncio.gather(*(limited(i) for i in range(len(clients))))
    res.connect_seconds = time.monotonic() - t_connect
    live = [i for i, s in enumerate(sockets) if s is not None]
    pipe.send(("ready", len(live)))
    # The parent answers with the common start time (CLOCK_MONOTONIC is system-wide on Linux).
    t0 = float(await loop.run_in_executor(None, pipe.recv))
    t_start = t0 + spec.warmup
    t_end = t_start + spec.duration
    t_stop = t_end + spec.drain
    lat = res.latencies
    acks: list[asyncio.Event] = [asyncio.Event() for _ in clients]
    pad = "x" * spec.body_pad
    proto = spec.protocol
    counter = 0

    async def reader(i: int) -> None:
        ws = sockets[i]
        try:
            async for raw in ws:
                if proto == "socketio" and raw == "2":
                    await ws.send("3")
                    continue
                now = time.monotonic()
                msg = _decode_in(proto, raw)
                if msg is None:
                    continue
                kind = msg.get("type")
                if kind == "message":
                    body = msg.get("body", "")
                    if body.startswith(BODY_PREFIX):
                        sent_at = float(body.split(" ", 2)[1])
                        if t_start <= sent_at < t_end:
                            lat.append(now - sent_at)
                        if t_start <= now < t_end:
                            res.delivered_window += 1
                elif kind == "ack":
                    res.acked += 1
                    acks[i].set()
                elif kind == "error":
                    key = f"error:{msg.get('code')}"
                    res.errors[key] = res.errors.get(key, 0) + 1
                    acks[i].set()
                if now > t_stop:
                    return
        except Exception:
            res.closed += 1

    def frame_for(i: int) -> str:
        nonlocal counter
        counter += 1
        now = time.monotonic()
        if t_start <= now < t_end:
            res.expected += clients[i].room_size - 1
        body = f"{BODY_PREFIX} {now:.6f} {pad}"
        return _encode_out(
            proto,
            {
                "type": "send",
                "room_id": clients[i].room_id,
                # Unique across runs: a client_msg_id seen before is an idempotent retry, which
                # the server acks again without delivering it again.
                "client_msg_id": f"{spec.run_id}-{offset + i}-{counter}",
                "body": body,
            },
        )

    async def send(i: int) -> None:
        try:
            await sockets[i].send(frame_for(i))
            res.sent += 1
        except Exception:
            res.errors["send"] = res.errors.get("send", 0) + 1

    readers = [asyncio.create_task(reader(i)) for i in live]
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))

    if spec.mode == "rate":
        per_proc = spec.rate / nprocs
        n = 0
        k = 0
        tick = 0.002
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            due = int((now - t0) * per_proc) - n
            for _ in range(max(0, due)):
                await send(live[k % len(live)])
                k += 1
                n += 1
            await asyncio.sleep(tick)
    else:

        async def pump(i: int) -> None:
            while time.monotonic() < t_end:
                acks[i].clear()
                await send(i)
                try:
                    await asyncio.wait_for(acks[i].wait(), timeout=5)
                except TimeoutError:
                    res.errors["ack_timeout"] = res.errors.get("ack_timeout", 0) + 1

        await asyncio.gather(*(pump(i) for i in live))

    await asyncio.sleep(max(0.0, t_stop - time.monotonic()))
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(
        *(asyncio.wait_for(sockets[i].close(), 3) for i in live), return_exceptions=True
    )
    return res


@dataclass
class RunSummary:
    label: str
    mode: str
    clients: int
    offered: float
    sends_per_s: float
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    lost: int
    server_cpu: float
    server_rss_mb: float
    errors: dict[str, int]
    connect_s: float
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def per_core(self) -> float:
        """Deliveries per second of server CPU: what one core would carry. CPU time spent per
        delivery barely depends on how much CPU the machine grants, so this survives noise."""
        return self.deliveries_per_s / self.server_cpu if self.server_cpu > 0.01 else float("nan")

    def row(self) -> dict[str, Any]:
        return {
            "server": self.label,
            "mode": self.mode,
            "clients": self.clients,
            "offered msg/s": self.offered if self.mode == "rate" else float("nan"),
            "sent msg/s": self.sends_per_s,
            "deliveries/s": self.deliveries_per_s,
            "p50 ms": self.p50_ms,
            "p99 ms": self.p99_ms,
            "max ms": self.max_ms,
            "lost": self.lost,
            "server cores": self.server_cpu,
            "deliveries per core-s": self.per_core,
            "server RSS MB": self.server_rss_mb,
            "errors": ",".join(f"{k}={v}" for k, v in self.errors.items()) or "",
        }


def pyspy_window(pid: int, out: Path, seconds: float) -> Any:
    """A callback for `run_load`'s measured window: sample `pid` with py-spy for `seconds`,
    per thread, raw stacks (one line per stack, count last) for later grouping. Non-blocking."""
    spy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))

    def start() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.Popen(
            [spy, "record", "-p", str(pid), "-r", "200", "-d", str(int(seconds)), "--threads",
             "-f", "raw", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    return start


def run_load(
    label: str,
    spec: LoadSpec,
    clients: list[Client],
    server_pid: int,
    nprocs: int = 2,
    extra_pids: Sequence[int] = (),
    on_window: Any = None,
) -> RunSummary:
    """Spread the clients over `nprocs` generator processes, start them together, sample the
    server's CPU over the measured window, merge the receivers' latencies."""
    ctx = mp.get_context("spawn")
    spec = replace(spec, run_id=secrets.token_hex(4))
    chunks = [clients[i::nprocs] for i in range(nprocs)]
    offsets = [sum(len(c) for c in chunks[:i]) * 0 + i * 1_000_000 for i in range(nprocs)]
    pipes, procs = [], []
    for chunk, off in zip(chunks, offsets, strict=True):
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_load_worker, args=(spec, chunk, off, nprocs, child), daemon=True)
        p.start()
        pipes.append(parent)
        procs.append(p)
    connect_deadline = time.monotonic() + 300
    ready = 0
    for pipe in pipes:
        remaining = max(1.0, connect_deadline - time.monotonic())
        if not pipe.poll(remaining):
            raise RuntimeError("load generator did not connect in time")
        _, n = pipe.recv()
        ready += n
    t0 = time.monotonic() + 0.5
    for pipe in pipes:
        pipe.send(t0)
    samplers = [ProcSampler(server_pid)] + [ProcSampler(p) for p in extra_pids]
    time.sleep(max(0.0, t0 + spec.warmup - time.monotonic()))
    for s in samplers:
        s.start()
    if on_window is not None:
        on_window()
    time.sleep(max(0.0, t0 + spec.warmup + spec.duration - time.monotonic()))
    measured = [s.stop() for s in samplers]
    results: list[LoadResult] = []
    for pipe in pipes:
        if not pipe.poll(spec.drain + 60):
            raise RuntimeError("load generator did not finish in time")
        results.append(pipe.recv())
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    lat = sorted(x for r in results for x in r.latencies)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
        if r.closed:
            errors["closed"] = errors.get("closed", 0) + r.closed
    if ready < len(clients):
        errors["not_connected"] = len(clients) - ready
    sent = sum(r.sent for r in results)
    expected = sum(r.expected for r in results)
    total_span = spec.warmup + spec.duration
    return RunSummary(
        label=label,
        mode=spec.mode,
        clients=len(clients),
        offered=spec.rate,
        sends_per_s=sent / total_span,
        deliveries_per_s=sum(r.delivered_window for r in results) / spec.duration,
        p50_ms=percentile(lat, 50) * 1000,
        p99_ms=percentile(lat, 99) * 1000,
        max_ms=(lat[-1] * 1000) if lat else float("nan"),
        lost=max(0, expected - len(lat)),
        server_cpu=sum(m[0] for m in measured),
        server_rss_mb=sum(m[1] for m in measured) / 2**20,
        errors=errors,
        connect_s=max(r.connect_seconds for r in results),
        latencies=lat,
    )


@contextlib.contextmanager
def running(server: ServerProc) -> Iterator[ServerProc]:
    try:
        yield server
    finally:
        server.stop()


def new_secret() -> str:
    return secrets.token_urlsafe(48)


# ----------------------------------------------------------------------------- several nodes

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Cluster:
    """n peerchat nodes on one fresh PostgreSQL database and one Redis namespace."""

    def __init__(
        self,
        nodes: int,
        staff: Sequence[tuple[str, str]] = (),
        env_extra: dict[str, str] | None = None,
    ) -> None:
        self.db = "peerchat_bench_" + secrets.token_hex(4)
        self.tmp = tempfile.mkdtemp(prefix="peerchat-cluster-")
        self.env_extra = {
            "PEERCHAT_DEV_MODE": "false",
            "PEERCHAT_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.db}",
            "PEERCHAT_REDIS_URL": "redis://127.0.0.1:6379/0",
            "PEERCHAT_REDIS_NAMESPACE": "bench-" + secrets.token_hex(4),
            **(env_extra or {}),
        }
        self.n = nodes
        self.staff = list(staff)
        self.nodes: list[ServerProc] = []

    def __enter__(self) -> Cluster:
        asyncio.run(_pg(f'CREATE DATABASE "{self.db}"'))
        env = bench_env(self.tmp, **self.env_extra)
        r = subprocess.run([PEERCHAT, "migrate"], env=env, capture_output=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode()[-800:])
        for username, role in self.staff:
            create_staff(env, username, role)
        for k in range(self.n):
            self.nodes.append(
                start_peerchat(
                    env_extra={**self.env_extra, "PEERCHAT_NODE_ID": f"bench-{k}"},
                    tmp=self.tmp,
                    name=f"node{k}",
                    create_users=False,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for node in self.nodes:
            node.stop()
        with contextlib.suppress(Exception):
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- per-thread counts


def thread_counters(pid: int) -> dict[str, dict[str, float]]:
    """CPU seconds and context switches of every thread of `pid` and its children, by
    "process/thread name" (threads of one name summed). Context switches count how often a
    thread went to sleep and was woken: a thread hop costs one at each end, whatever the load,
    so switches per message are a load-independent measure of hops."""
    import psutil

    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, dict[str, float]] = {}
    root = psutil.Process(pid)
    procs = [root]
    with contextlib.suppress(psutil.Error):
        procs += root.children(recursive=True)
    for n, proc in enumerate(procs):
        prefix = "server" if n == 0 else f"child{n}"
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                base = f"/proc/{proc.pid}/task/{tid}"
                try:
                    with open(f"{base}/comm") as fh:
                        name = fh.read().strip()
                    with open(f"{base}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    with open(f"{base}/status") as fh:
                        status = dict(
                            line.split(":", 1) for line in fh.read().splitlines() if ":" in line
                        )
                except OSError:
                    continue
                # Python's thread names do not reach the kernel: the main thread (the event
                # loop) apart, the others are told apart by py-spy's per-thread view.
                kind = "main thread" if int(tid) == proc.pid else f"other threads ({name})"
                key = f"{prefix}/{kind}"
                entry = out.setdefault(key, {"cpu_s": 0.0, "switches": 0.0, "threads": 0.0})
                entry["cpu_s"] += (int(fields[11]) + int(fields[12])) / ticks
                entry["switches"] += int(status["voluntary_ctxt_switches"]) + int(
                    status["nonvoluntary_ctxt_switches"]
                )
                entry["threads"] += 1
    return out


def counters_delta(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """after - before per thread group (threads that came and went count what they did after)."""
    delta = {}
    for key, now in after.items():
        then = before.get(key, {"cpu_s": 0.0, "switches": 0.0})
        delta[key] = {
            "cpu_s": max(0.0, now["cpu_s"] - then["cpu_s"]),
            "switches": max(0.0, now["switches"] - then["switches"]),
            "threads": now["threads"],
        }
    return delta
