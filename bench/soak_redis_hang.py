"""Soak with Redis hung and resumed: two `peerchat serve` nodes on PostgreSQL and a private
Redis, steady chat in group rooms whose members sit on both nodes, and every so often Redis is
stopped with SIGSTOP (the process stays, its sockets accept, nothing answers) for a while, then
resumed with SIGCONT. During each hang a participant on node 0 asks for help; a supervisor on
node 1 is subscribed to alerts.

What it reports, with loss and repeats counted against storage, never hidden:

- ack latency (p50, p99, max) while Redis answers and while it hangs: storage is the truth, so a
  hung Redis must not slow an ack;
- how soon each node's /readyz said "stalled" after the stop, and "ok" after the resume;
- how long after the resume the help alert reached the supervisor on the other node;
- how long after the resume the last message sent during the hang reached the other node;
- lost (a seq a member never got, or a sent message not stored) and duplicated (a frame twice,
  or a client_msg_id stored twice): both must be 0.

    .venv/bin/python -m bench.soak_redis_hang --minutes 3 [--clients 24] [--hangs 3]
        [--hang-seconds 8]

Every loop is bounded in count and time; only loopback is used. The private Redis is never the
shared one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from bench import common


@dataclass
class Member:
    token: str
    room_id: str
    url: str
    node: int
    sent_at: dict[str, float] = field(default_factory=dict)  # cid -> monotonic send time
    acks: dict[str, int] = field(default_factory=dict)
    ack_latency: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    frames: dict[int, float] = field(default_factory=dict)  # seq -> first receipt time
    duplicated: int = 0

    def seen(self) -> set[int]:
        return set(self.frames) | set(self.acks.values())


@dataclass
class Hang:
    stopped: float
    resumed: float = 0.0
    stalled_after: dict[int, float | None] = field(default_factory=dict)
    ok_after: dict[int, float | None] = field(default_factory=dict)
    help_room: str = ""
    help_seconds: float = 0.0
    alert_after: float | None = None


async def _member(m: Member, stop: asyncio.Event, interval: float) -> None:
    async with websockets.connect(m.url, open_timeout=10, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "auth", "token": m.token}))
        json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "join", "room_id": m.room_id, "after_seq": 0}))

        async def reader() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                now = time.monotonic()
                if frame.get("type") == "message" and frame.get("room_id") == m.room_id:
                    seq = frame["seq"]
                    if seq in m.frames or seq in m.acks.values():
                        m.duplicated += 1
                    m.frames.setdefault(seq, now)
                elif frame.get("type") == "ack":
                    cid = frame["client_msg_id"]
                    if cid not in m.acks:
                        m.acks[cid] = frame["seq"]
                        sent = m.sent_at[cid]
                        m.ack_latency.append((sent, now - sent))

        task = asyncio.create_task(reader())
        try:
            for _ in range(1_000_000):
                if stop.is_set() or task.done():
                    break
                cid = uuid.uuid4().hex
                m.sent_at[cid] = time.monotonic()
                frame = {"type": "send", "room_id": m.room_id, "client_msg_id": cid,
                         "body": f"soak {cid}"}  # fmt: skip
                await ws.send(json.dumps(frame))
                await asyncio.sleep(interval)
            with contextlib.suppress(TimeoutError):  # the last acks and deliveries
                await asyncio.wait_for(asyncio.shield(task), 10)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _loop_lag(samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """This process's own event-loop stalls (time, seconds late): on a shared, busy machine an
    ack can look slow because the client was not scheduled, not because the server was."""
    for _ in range(10_000_000):
        if stop.is_set():
            return
        before = time.monotonic()
        await asyncio.sleep(0.05)
        late = time.monotonic() - before - 0.05
        if late > 0.2:
            samples.append((before, late))


async def _watch_alerts(url: str, token: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    async with websockets.connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "channel": "alerts"}))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                if frame.get("type") == "alert":
                    seen.setdefault(frame["alert"]["room_id"], time.monotonic())


async def _until_ready(http: httpx.AsyncClient, base: str, bus: str, since: float) -> float | None:
    for _ in range(400):
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            if (await http.get(f"{base}/readyz")).json()["checks"]["bus"] == bus:
                return time.monotonic() - since
        await asyncio.sleep(0.05)
    return None


async def soak(args: argparse.Namespace, cluster: common.Cluster, redis: Any) -> int:
    nodes = cluster.nodes
    base = nodes[0].http
    clients = await common.setup_workload(
        base, args.clients, group_size=4, group_share=1.0, workers=("soak-worker",)
    )
    members = [
        Member(c.token, c.room_id, nodes[i % 2].ws_url, i % 2) for i, c in enumerate(clients)
    ]
    async with httpx.AsyncClient(base_url=base, timeout=30) as signin:
        sup = await common.login(signin, "soak-supervisor")
    async with httpx.AsyncClient(timeout=30) as http:
        askers = []
        for _ in range(args.hangs):
            person = (await http.post(f"{base}/api/v1/sessions/anonymous", json={})).json()
            room = await http.post(
                f"{base}/api/v1/support-requests", json={},
                headers={"Authorization": f"Bearer {person['token']}"},
            )  # fmt: skip
            askers.append((person["token"], room.json()["room_id"]))
        stop = asyncio.Event()
        alerts_seen: dict[str, float] = {}
        watcher = asyncio.create_task(_watch_alerts(nodes[1].ws_url, sup, alerts_seen, stop))
        lag: list[tuple[float, float]] = []
        lag_task = asyncio.create_task(_loop_lag(lag, stop))
        t0 = time.monotonic()
        tasks = [asyncio.create_task(_member(m, stop, 1.0 / args.rate)) for m in members]
        end = t0 + args.minutes * 60
        hangs: list[Hang] = []
        for k in range(args.hangs):
            at = t0 + (k + 1) * (end - t0) / (args.hangs + 1)
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            redis.send_signal(signal.SIGSTOP)
            hang = Hang(stopped=time.monotonic())
            for n, node in enumerate(nodes):
                hang.stalled_after[n] = await _until_ready(http, node.http, "stalled", hang.stopped)
            token, room_id = askers[k]
            began = time.monotonic()
            helped = await http.post(f"{base}/api/v1/rooms/{room_id}/help",
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            hang.help_seconds = time.monotonic() - began
            hang.help_room = room_id if helped.status_code == 201 else ""
            await asyncio.sleep(max(0.0, hang.stopped + args.hang_seconds - time.monotonic()))
            redis.send_signal(signal.SIGCONT)
            hang.resumed = time.monotonic()
            for n, node in enumerate(nodes):
                hang.ok_after[n] = await _until_ready(http, node.http, "ok", hang.resumed)
            for _ in range(200):
                if room_id in alerts_seen:
                    break
                await asyncio.sleep(0.05)
            if room_id in alerts_seen:
                hang.alert_after = alerts_seen[room_id] - hang.resumed
            hangs.append(hang)
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        watcher.cancel()
        with contextlib.suppress(BaseException):
            await watcher
        await lag_task

    stored = await _stored(cluster)
    return _report(args, members, hangs, stored, lag)


async def _stored(cluster: common.Cluster) -> dict[str, list[tuple[int, str | None]]]:
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{cluster.db}")
    try:
        rows = await conn.fetch("SELECT room_id, seq, client_msg_id FROM messages ORDER BY 1, 2")
    finally:
        await conn.close()
    out: dict[str, list[tuple[int, str | None]]] = {}
    for r in rows:
        out.setdefault(r["room_id"], []).append((r["seq"], r["client_msg_id"]))
    return out


def _pcts(values: list[float]) -> dict[str, Any]:
    s = sorted(values)
    if not s:
        return {"n": 0}
    return {
        "n": len(s),
        "p50 ms": round(common.percentile(s, 0.5) * 1000, 1),
        "p99 ms": round(common.percentile(s, 0.99) * 1000, 1),
        "max ms": round(s[-1] * 1000, 1),
    }


def _report(
    args: argparse.Namespace,
    members: list[Member],
    hangs: list[Hang],
    stored: dict[str, list[tuple[int, str | None]]],
    lag: list[tuple[float, float]],
) -> int:
    def hung(at: float) -> bool:
        return any(h.stopped <= at < h.resumed for h in hangs)

    lat = [x for m in members for x in m.ack_latency]
    answering = [s for at, s in lat if not hung(at)]
    during = [s for at, s in lat if hung(at)]

    def slow(values: list[float]) -> int:
        return sum(1 for v in values if v > 1.0)

    print(common.table([{"redis": "answering", **_pcts(answering), "over 1 s": slow(answering)},
                        {"redis": "hung (SIGSTOP)", **_pcts(during), "over 1 s": slow(during)}],
                       "ack latency (seen by the clients)"))  # fmt: skip
    stalls = [late for _, late in lag]
    print(common.table([{"client loop stalls > 0.2 s": len(stalls),
                         "longest s": round(max(stalls, default=0.0), 2),
                         "during hangs": sum(1 for at, _ in lag if hung(at))}],
                       "the load generator's own event loop (a busy, shared machine)"))  # fmt: skip

    # catch-up: messages sent during a hang, delivered to members on the other node
    by_cid = {cid: seq for room in stored.values() for seq, cid in room if cid}
    rows = []
    for h in hangs:
        lags = []
        for m in members:
            for cid, sent in m.sent_at.items():
                if h.stopped <= sent < h.resumed and cid in by_cid:
                    seq = by_cid[cid]
                    for other in members:
                        if other.room_id == m.room_id and other.node != m.node:
                            got = other.frames.get(seq)
                            if got is not None:
                                lags.append(got - h.resumed)
        rows.append({
            "hang s": args.hang_seconds,
            "stalled seen s (node0/node1)": "/".join(_fmt(h.stalled_after.get(n)) for n in (0, 1)),
            "ready again s": "/".join(_fmt(h.ok_after.get(n)) for n in (0, 1)),
            "help answered ms": round(h.help_seconds * 1000, 1),
            "alert on node1 after resume s": _fmt(h.alert_after),
            "hang's messages on other node, last after resume s": _fmt(max(lags, default=None)),
        })  # fmt: skip
    print(common.table(rows, "each hang"))

    lost = 0
    for m in members:
        total = len(stored.get(m.room_id, []))
        lost += len(set(range(1, total + 1)) - m.seen())
    stored_cids = [cid for room in stored.values() for _, cid in room if cid]
    sent = sum(len(m.sent_at) for m in members)
    unstored = sum(1 for m in members for cid in m.acks if cid not in set(stored_cids))
    duplicated = sum(m.duplicated for m in members) + len(stored_cids) - len(set(stored_cids))
    gapless = all([s for s, _ in r] == list(range(1, len(r) + 1)) for r in stored.values())
    acked = sum(len(m.acks) for m in members)
    summary = {
        "minutes": args.minutes, "clients": len(members), "hangs": len(hangs), "sent": sent,
        "acked": acked, "stored": sum(len(r) for r in stored.values()),
        "lost": lost + unstored, "duplicated": duplicated, "gapless": gapless,
    }  # fmt: skip
    print(common.table([summary], "soak result"))
    alerts_ok = all(h.alert_after is not None and h.alert_after <= 5 for h in hangs)
    acks_ok = not during or common.percentile(sorted(during), 0.99) < 1.0
    ok = summary["lost"] == 0 and duplicated == 0 and gapless and acked == sent
    ok = ok and alerts_ok and acks_ok
    print("PASS" if ok else "FAIL: lost, duplicated, un-acked, slow acks or late alerts")
    return 0 if ok else 1


def _fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--rate", type=float, default=2.0, help="messages a second per client")
    parser.add_argument("--hangs", type=int, default=3)
    parser.add_argument("--hang-seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    port = common.free_port()
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"# soak with Redis hung: {args.minutes} min, {args.clients} clients on 2 nodes, "
          f"{args.hangs} hangs of {args.hang_seconds}s, private Redis on {port}")  # fmt: skip
    common.print_machine()
    try:
        time.sleep(0.5)
        env = {
            "PEERCHAT_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "PEERCHAT_MODEL_ENABLED": "false",
        }
        staff = [("soak-worker", "peer_worker"), ("soak-supervisor", "supervisor")]
        with common.Cluster(2, staff=staff, env_extra=env) as cluster:
            return asyncio.run(soak(args, cluster, redis))
    finally:
        with contextlib.suppress(Exception):
            redis.send_signal(signal.SIGCONT)
        redis.kill()
        redis.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
