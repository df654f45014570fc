"""What a node costs while nothing happens: CPU of a server holding idle, authenticated sockets
joined to their rooms (no messages), side by side with the baselines.

    python -m bench.idle_cost                  # 1,000 sockets, 30 s window
    python -m bench.idle_cost --quick          # 1,000 sockets, 10 s window
    python -m bench.idle_cost --model          # peerchat with its model child (as served)

Target: an idle peerchat node with 1,000 idle sockets uses under 2% of a core. Besides CPU, the
table gives context switches per second (every timer or thread that wakes up when nothing
happens shows there, however busy the machine is) and the threads that used the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

TARGET_CORES = 0.02


def _holder(spec: common.LoadSpec, clients: list[common.Client], offset: int, pipe: Any) -> None:
    common.raise_nofile()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_hold(spec, clients, offset, pipe))


async def _hold(
    spec: common.LoadSpec, clients: list[common.Client], offset: int, pipe: Any
) -> None:
    sem = asyncio.Semaphore(64)
    sockets: list[Any] = []

    async def one(i: int, client: common.Client) -> None:
        async with sem:
            for attempt in range(4):  # a busy machine drops some handshakes: try again
                try:
                    sockets.append(await common.open_client(spec, client, offset + i))
                    return
                except Exception:
                    await asyncio.sleep(0.5 * (attempt + 1))

    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))

    async def answer_pings(ws: Any) -> None:  # Engine.IO pings come as "2": answer "3"
        with contextlib.suppress(Exception):
            async for raw in ws:
                if raw == "2":
                    await ws.send("3")

    readers = [asyncio.create_task(answer_pings(ws)) for ws in sockets]
    pipe.send(len(sockets))
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
    for task in readers:
        task.cancel()
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()
    pipe.send("closed")


def measure(
    name: str, server: common.ServerProc, clients: list[common.Client], args: argparse.Namespace
) -> dict[str, Any]:
    spec = common.LoadSpec(
        url=server.ws_url,
        protocol="socketio" if name.startswith("socketio") else "peerchat",
        mode="rate",
        rate=0.0,
        warmup=0.0,
        duration=args.duration,
    )
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for n in range(args.procs):
        parent, child = ctx.Pipe()
        chunk = clients[n :: args.procs]
        p = ctx.Process(target=_holder, args=(spec, chunk, n * 1_000_000, child), daemon=True)
        p.start()
        pipes.append(parent)
        procs.append(p)
    held = 0
    for pipe in pipes:
        if not pipe.poll(600):
            raise RuntimeError("holders did not connect in time")
        held += pipe.recv()
    time.sleep(args.settle)  # connection set-up done, presence settled
    sampler = common.ProcSampler(server.popen.pid)
    before = common.thread_counters(server.popen.pid)
    sampler.start()
    if args.pyspy and name == "peerchat":
        common.pyspy_window(server.popen.pid, Path(args.pyspy), args.duration)()
    time.sleep(args.duration)
    cores, rss = sampler.stop()
    delta = common.counters_delta(before, common.thread_counters(server.popen.pid))
    for pipe in pipes:
        pipe.send("stop")
    for pipe, p in zip(pipes, procs, strict=True):
        pipe.poll(30)
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    switches = sum(d["switches"] for d in delta.values()) / args.duration
    busiest = sorted(delta.items(), key=lambda kv: -kv[1]["cpu_s"])[:3]
    wakers = sorted(delta.items(), key=lambda kv: -kv[1]["switches"])[:3]
    return {
        "server": name,
        "idle sockets": held,
        "window s": args.duration,
        "server cores": cores,
        "% of a core": cores * 100,
        "wake-ups/s": switches,
        "server RSS MB": rss / 2**20,
        "busiest threads (cpu ms/s)": ", ".join(
            f"{k} {v['cpu_s'] * 1000 / args.duration:.1f}" for k, v in busiest if v["cpu_s"] > 0
        ),
        "wake-ups/s by thread": ", ".join(
            f"{k} {v['switches'] / args.duration:.1f}" for k, v in wakers if v["switches"] > 0
        ),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a 10 s window")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    p.add_argument("--settle", type=float, default=5.0, help="seconds after connecting")
    p.add_argument("--procs", type=int, default=2, help="socket-holding processes")
    p.add_argument("--servers", default="peerchat,socketio,socketio_node")
    p.add_argument("--model", action="store_true", help="peerchat with its model on")
    p.add_argument("--pyspy", default=None, metavar="FILE", help="py-spy raw profile of peerchat")
    p.add_argument("--json", default=None, help="write results here (default docs/benchmarks/)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration = 10.0
    common.raise_nofile()
    common.print_machine()
    rows = []
    for name in [s.strip() for s in args.servers.split(",") if s.strip()]:
        if name == "peerchat":
            env = {"PEERCHAT_MODEL_ENABLED": "true" if args.model else "false"}
            server = common.start_peerchat(staff=[("bench-worker-0", "peer_worker")], env_extra=env)
            try:
                clients = asyncio.run(
                    common.setup_workload(server.http, args.clients, workers=["bench-worker-0"])
                )
                rows.append(measure(name, server, clients, args))
            finally:
                server.stop()
        else:
            server = common.start_baseline(name)
            try:
                rows.append(measure(name, server, common.baseline_workload(args.clients), args))
            finally:
                server.stop()
        print(common.table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(common.table(rows, f"## idle servers ({'model on' if args.model else 'model off'})"))
    peer = [r for r in rows if r["server"] == "peerchat"]
    if peer:
        met = peer[0]["server cores"] < TARGET_CORES
        print(
            f"target: idle node with {peer[0]['idle sockets']} idle sockets < 2% of a core: "
            f"{peer[0]['% of a core']:.2f}% -> {'met' if met else 'NOT met'}"
        )
    out = Path(args.json) if args.json else common.ROOT / "docs" / "benchmarks" / "idle_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": common.machine(), "argv": sys.argv, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
