"""Idle authenticated WebSocket connections held by one process: RSS per connection, connect time.

    python -m bench.connections              # 10,000 connections (peerchat, then bare websockets)
    python -m bench.connections --quick      # 2,000 connections

Clients offer permessage-deflate, as browsers do; each server decides. Client sockets are
spread over several generator processes and loopback source addresses (127.0.0.x), and
RLIMIT_NOFILE is raised in every process. RSS per connection = (server RSS with N connections
- RSS before) / N, sampled once the count is steady.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common


def _holder(
    url: str, protocol: str, tokens: list[str], offset: int, sources: int, deflate: bool, pipe: Any
) -> None:
    common.raise_nofile(200_000)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_hold(url, protocol, tokens, offset, sources, deflate, pipe))


async def _hold(
    url: str, protocol: str, tokens: list[str], offset: int, sources: int, deflate: bool, pipe: Any
) -> None:
    import orjson
    import websockets

    sem = asyncio.Semaphore(128)
    socks: list[Any] = []
    errors: dict[str, int] = {}

    async def one(i: int, token: str) -> None:
        kwargs: dict[str, Any] = {
            "compression": "deflate" if deflate else None,
            "ping_interval": None,
            "open_timeout": 120,
        }
        if sources > 1:
            kwargs["local_addr"] = (f"127.0.0.{2 + (offset + i) % sources}", 0)
        async with sem:
            for attempt in range(3):
                try:
                    ws = await websockets.connect(url, **kwargs)
                    await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
                    ready = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
                    if ready.get("type") != "ready":
                        raise RuntimeError("not ready")
                    socks.append(ws)
                    return
                except Exception as exc:
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                    await asyncio.sleep(0.5 * (attempt + 1))

    t = time.monotonic()
    await asyncio.gather(*(one(i, tok) for i, tok in enumerate(tokens)))
    pipe.send(("ready", len(socks), time.monotonic() - t, errors))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # hold until told to let go
    await asyncio.gather(*(asyncio.wait_for(s.close(), 5) for s in socks), return_exceptions=True)
    pipe.send(("done",))


def measure(
    label: str,
    server: common.ServerProc,
    tokens: list[str],
    n: int,
    procs: int,
    sources: int,
    deflate: bool,
) -> dict[str, Any]:
    sampler = common.ProcSampler(server.popen.pid)
    time.sleep(1.0)
    rss0 = sampler.rss()
    ctx = mp.get_context("spawn")
    all_tokens = [tokens[i % len(tokens)] for i in range(n)]
    chunks = [all_tokens[i::procs] for i in range(procs)]
    pipes, ps = [], []
    t = time.monotonic()
    for k, chunk in enumerate(chunks):
        parent, child = ctx.Pipe()
        p = ctx.Process(
            target=_holder,
            daemon=True,
            args=(server.ws_url, "peerchat", chunk, k * len(chunk), sources, deflate, child),
        )
        p.start()
        pipes.append(parent)
        ps.append(p)
    held, errors = 0, {}
    for pipe in pipes:
        if not pipe.poll(600):
            raise RuntimeError("connecting took over 10 minutes")
        _, count, _, errs = pipe.recv()
        held += count
        for key, v in errs.items():
            errors[key] = errors.get(key, 0) + v
    connect_s = time.monotonic() - t
    time.sleep(2.0)  # let allocations settle
    rss1 = sampler.rss()
    for pipe in pipes:
        pipe.send("go")
    for pipe in pipes:
        with contextlib.suppress(Exception):
            if pipe.poll(60):
                pipe.recv()
    for p in ps:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    return {
        "server": label,
        "connections": held,
        "connect all s": connect_s,
        "connects/s": held / connect_s if connect_s else float("nan"),
        "RSS before MB": rss0 / 2**20,
        "RSS with N MB": rss1 / 2**20,
        "KB per connection": (rss1 - rss0) / max(1, held) / 1024,
        "errors": ",".join(f"{k}={v}" for k, v in errors.items()),
    }


async def _sessions(server: common.ServerProc, n: int) -> list[str]:
    import httpx

    async with httpx.AsyncClient(base_url=server.http, timeout=60) as http:
        got = await common._gather_limited(
            [common._post(http, "/api/v1/sessions/anonymous", {}) for _ in range(n)]
        )
    return [g["token"] for g in got]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("-n", "--connections", type=int, default=10_000)
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--sources", type=int, default=4, help="loopback source addresses 127.0.0.x")
    p.add_argument("--tokens", type=int, default=200, help="distinct participant sessions")
    p.add_argument("--no-deflate", action="store_true", help="clients don't offer compression")
    p.add_argument("--servers", default="peerchat,bare_ws")
    p.add_argument("--env", action="append", default=[], help="extra PEERCHAT_X=Y for peerchat")
    args = p.parse_args(argv)
    if args.quick:
        args.connections = min(args.connections, 2000)
    limit = common.raise_nofile(200_000)
    common.print_machine()
    print(
        f"# RLIMIT_NOFILE {limit}; {args.connections} connections over {args.procs} processes "
        f"and {args.sources} source addresses; deflate offered: {not args.no_deflate}"
    )
    rows = []
    for name in [s for s in args.servers.split(",") if s]:
        if name == "peerchat":
            extra = {"PEERCHAT_LOG_LEVEL": "ERROR", **dict(kv.split("=", 1) for kv in args.env)}
            server = common.start_peerchat(env_extra=extra)
        else:
            server = common.start_baseline(name)
        try:
            # The baseline accepts any token; peerchat needs real anonymous sessions.
            tokens = asyncio.run(_sessions(server, args.tokens)) if name == "peerchat" else ["t"]
            rows.append(
                measure(
                    name,
                    server,
                    tokens,
                    args.connections,
                    args.procs,
                    args.sources,
                    not args.no_deflate,
                )
            )
        finally:
            server.stop()
        print(common.table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(common.table(rows, "## idle authenticated connections"))
    pc = [r for r in rows if r["server"] == "peerchat"]
    if pc:
        kb = pc[0]["KB per connection"]
        print(
            common.table(
                [
                    {
                        "target": "<= 40 KB RSS per idle connection",
                        "measured": f"{kb:.1f} KB",
                        "met": "yes" if kb <= 40 else "NO",
                    }
                ],
                "## target",
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
