"""Soak: steady chat on a `peerchat serve` subprocess (embedded SQLite, in-process bus) while
clients randomly drop and resume, and the server is restarted (SIGTERM, then started again on
the same SQLite file and port). Every client keeps the books the protocol asks of it (highest
seq shown, un-acked client_msg_ids), so loss and repeats are counted, never hidden:

- lost       = seqs of a client's room it never got (as a message or its own ack), plus messages
               sent that are not stored after their resend;
- duplicated = message frames a client got twice (across connections), or its own acked
               message sent back to it.

Both must be 0. Server RSS is sampled every few seconds.

    .venv/bin/python -m bench.soak --minutes 2 [--clients 16] [--restarts 2] [--model]

Every loop is bounded in count and time; only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets

from bench import common


@dataclass
class Books:
    token: str
    room_id: str
    sent: list[str] = field(default_factory=list)
    acks: dict[str, int] = field(default_factory=dict)
    frames: dict[int, int] = field(default_factory=dict)  # seq -> times received
    duplicated: int = 0
    connects: int = 0
    drops: int = 0  # disconnects this client chose
    kicked: int = 0  # disconnects the server chose (restarts)

    @property
    def last_seen(self) -> int:
        return max([*self.frames, *self.acks.values()], default=0)

    def seen(self) -> set[int]:
        return set(self.frames) | set(self.acks.values())

    def unacked(self) -> list[str]:
        return [c for c in self.sent if c not in self.acks]


@dataclass
class Run:
    deadline: float
    url: str
    rng: random.Random
    drop_per_second: float
    send_interval: float
    sending: bool = True
    connected: int = 0


def _send_frame(b: Books, cid: str) -> str:
    return json.dumps(
        {"type": "send", "room_id": b.room_id, "client_msg_id": cid, "body": f"soak {cid}"}
    )


async def _session(run: Run, b: Books, stop_at: float) -> str:
    """One connection: auth, join after the last seq shown, resend un-acked, then chat until
    a random drop, the server going away, or stop_at. Returns why it ended."""
    async with websockets.connect(run.url, open_timeout=5, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "auth", "token": b.token}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if ready.get("type") != "ready":
            raise RuntimeError(f"no ready: {ready}")
        b.connects += 1
        run.connected += 1
        try:
            await ws.send(json.dumps(
                {"type": "join", "room_id": b.room_id, "after_seq": b.last_seen}))  # fmt: skip
            for cid in b.unacked():
                await ws.send(_send_frame(b, cid))

            async def reader() -> None:
                async for raw in ws:
                    frame = json.loads(raw)
                    kind = frame.get("type")
                    if kind == "message" and frame.get("room_id") == b.room_id:
                        seq = frame["seq"]
                        if seq in b.frames or seq in b.acks.values():
                            b.duplicated += 1
                        b.frames[seq] = b.frames.get(seq, 0) + 1
                    elif kind == "ack":
                        b.acks.setdefault(frame["client_msg_id"], frame["seq"])

            read = asyncio.create_task(reader())
            try:
                for _ in range(100_000):
                    now = time.monotonic()
                    if now >= stop_at or read.done():
                        break
                    if run.sending:
                        cid = uuid.uuid4().hex
                        b.sent.append(cid)
                        await ws.send(_send_frame(b, cid))
                    await asyncio.sleep(run.send_interval * run.rng.uniform(0.5, 1.5))
                    if run.sending and run.rng.random() < run.drop_per_second * run.send_interval:
                        b.drops += 1
                        return "dropped"
                if read.done():
                    b.kicked += 1
                    return "kicked"
                # the end: linger so that acks and last deliveries arrive
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(read), max(0.0, stop_at - now))
                return "done"
            finally:
                read.cancel()
                with contextlib.suppress(BaseException):
                    await read
        finally:
            run.connected -= 1


async def _client(run: Run, b: Books) -> None:
    for _ in range(10_000):
        if time.monotonic() >= run.deadline:
            return
        try:
            why = await _session(run, b, run.deadline)
        except (OSError, websockets.WebSocketException, TimeoutError):
            why = "refused"  # the server is restarting
        if why == "done":
            return
        await asyncio.sleep(run.rng.uniform(0.05, 1.0))


class RssLog:
    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []  # (t, rss bytes, pid)

    async def run(self, get_pid: Any, t0: float, until: float, every: float) -> None:
        import psutil  # type: ignore[import-untyped]

        for _ in range(100_000):
            if time.monotonic() >= until:
                return
            pid = get_pid()
            with contextlib.suppress(psutil.Error, TypeError):
                self.samples.append((time.monotonic() - t0, psutil.Process(pid).memory_info().rss,
                                     pid))  # fmt: skip
            await asyncio.sleep(every)


def _start(tmp: str, port: int, model: bool, first: bool) -> common.ServerProc:
    return common.start_peerchat(
        staff=[("soak-worker", "peer_worker")],
        env_extra={
            "PEERCHAT_MODEL_ENABLED": "true" if model else "false",
            "PEERCHAT_ADDRESS_RATE_LIMITS": "off",
        },
        tmp=tmp,
        port=port,
        name="soak",
        create_users=first,
    )


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="peerchat-soak-")
    port = common.free_port()
    print(f"# soak: {args.minutes} min, {args.clients} clients, {args.restarts} restarts, "
          f"model {'on' if args.model else 'off'}, SQLite in {tmp}")  # fmt: skip
    common.print_machine()
    server = await asyncio.to_thread(_start, tmp, port, args.model, True)
    clients = await common.setup_workload(
        server.http, args.clients, group_size=4, workers=("soak-worker",), seed=args.seed
    )
    books = [Books(c.token, c.room_id) for c in clients]
    t0 = time.monotonic()
    deadline = t0 + args.minutes * 60
    run = Run(deadline, server.ws_url, rng, args.drop_rate, 1.0 / args.rate)
    holder = {"server": server}
    rss = RssLog()
    sampler = asyncio.create_task(
        rss.run(lambda: holder["server"].popen.pid, t0, deadline + 30, args.sample_seconds)
    )
    tasks = [asyncio.create_task(_client(run, b)) for b in books]
    restarts: list[dict[str, Any]] = []
    send_stop = deadline - 8  # then only acks, resends and catch-up
    for k in range(args.restarts):
        at = t0 + (k + 1) * (send_stop - t0) / (args.restarts + 1)
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        down = holder["server"].terminate(signal.SIGTERM, timeout=30)
        started = time.monotonic()
        holder["server"] = await asyncio.to_thread(_start, tmp, port, args.model, False)
        restarts.append({"at s": round(at - t0, 1), "stop s": round(down, 2),
                         "start s": round(time.monotonic() - started, 2)})  # fmt: skip
    await asyncio.sleep(max(0.0, send_stop - time.monotonic()))
    run.sending = False
    await asyncio.gather(*tasks)
    # catch-up: anyone still short resumes once more (bounded)
    for _ in range(3):
        short = [b for b in books if b.unacked() or _missing(b, tmp)]
        if not short:
            break
        run.deadline = time.monotonic() + 5
        await asyncio.gather(*(_client(run, b) for b in short))
    sampler.cancel()
    with contextlib.suppress(BaseException):
        await sampler
    holder["server"].terminate(signal.SIGTERM, timeout=30)

    stored = _stored(tmp)
    sent = sum(len(b.sent) for b in books)
    acked = sum(len(b.acks) for b in books)
    delivered = sum(sum(b.frames.values()) for b in books)
    lost_seqs = sum(len(_missing(b, tmp, stored)) for b in books)
    stored_cids = {cid for room in stored.values() for cid in room["cids"]}
    lost_sent = sum(1 for b in books for cid in b.sent if cid not in stored_cids)
    duplicated = sum(b.duplicated for b in books) + sum(
        room["cid_count"] - len(room["cids"]) for room in stored.values()
    )
    gapless = all(room["seqs"] == list(range(1, len(room["seqs"]) + 1)) for room in stored.values())
    print()
    print(common.table(restarts, "server restarts (SIGTERM, start again on the same file)"))
    print(common.table(_rss_rows(rss.samples, every=max(1, int(10 / args.sample_seconds))),
                       "server RSS over time"))  # fmt: skip
    summary = {
        "minutes": args.minutes, "clients": len(books), "sent": sent, "acked": acked,
        "stored": sum(len(r["seqs"]) for r in stored.values()), "delivered": delivered,
        "lost": lost_seqs + lost_sent, "duplicated": duplicated, "gapless": gapless,
        "reconnects": sum(b.connects for b in books) - len(books),
        "client drops": sum(b.drops for b in books), "restarts": len(restarts),
    }  # fmt: skip
    print(common.table([summary], "soak result"))
    with contextlib.suppress(OSError):
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    ok = summary["lost"] == 0 and summary["duplicated"] == 0 and gapless and acked == sent
    print("PASS" if ok else "FAIL: lost, duplicated, gaps or un-acked messages")
    return 0 if ok else 1


def _stored(tmp: str) -> dict[str, dict[str, Any]]:
    con = sqlite3.connect(f"file:{tmp}/peerchat.db?mode=ro", uri=True, timeout=30)
    try:
        rooms: dict[str, dict[str, Any]] = {}
        for room_id, seq, cid in con.execute(
            "SELECT room_id, seq, client_msg_id FROM messages ORDER BY room_id, seq"
        ):
            room = rooms.setdefault(room_id, {"seqs": [], "cids": set(), "cid_count": 0})
            room["seqs"].append(seq)
            if cid is not None:
                room["cids"].add(cid)
                room["cid_count"] += 1
        return rooms
    finally:
        con.close()


def _missing(b: Books, tmp: str, stored: dict[str, Any] | None = None) -> list[int]:
    stored = stored if stored is not None else _stored(tmp)
    total = len(stored.get(b.room_id, {"seqs": []})["seqs"])
    return sorted(set(range(1, total + 1)) - b.seen())


def _rss_rows(samples: list[tuple[float, int, int]], every: int) -> list[dict[str, Any]]:
    rows = []
    for i, (t, rss, pid) in enumerate(samples):
        if i % every == 0 or i == len(samples) - 1:
            rows.append({"t s": round(t, 1), "pid": pid, "rss MiB": round(rss / 2**20, 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--rate", type=float, default=4.0, help="messages a second per client")
    parser.add_argument("--drop-rate", type=float, default=0.1,
                        help="chance per second that a client drops its connection")  # fmt: skip
    parser.add_argument("--sample-seconds", type=float, default=3.0)
    parser.add_argument("--model", action="store_true", help="score messages with the model")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not 0.2 <= args.minutes <= 60:
        parser.error("--minutes must be between 0.2 and 60")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
