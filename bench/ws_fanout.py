"""WebSocket fan-out: peerchat side by side with a bare `websockets` server, a python-socketio
server and a Socket.IO server on Node.js, same workload, same run.

    python -m bench.ws_fanout            # full: several offered loads, 2 rounds
    python -m bench.ws_fanout --quick    # about a minute: full speed and 1,000 msg/s

Clients: half in group rooms of 10, half in one-to-one rooms (participant + peer worker
connection). Each send carries its monotonic send time in the body; receivers (in separate
load-generator processes) compute send-to-receipt latency. "full" = every client sends its
next message as soon as the previous one is acked (closed loop); "rate" = a fixed total rate
spread round-robin over all clients (open loop).

peerchat runs as a real `peerchat serve` subprocess on its embedded defaults (SQLite in a
temporary folder), storage and scoring on (started only once /readyz is 200, model loaded),
address limits off and per-connection limits raised for the load test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import LoadSpec, RunSummary

OUT = common.ROOT / "docs" / "benchmarks"


def wait_idle(pid: int, limit: float = 120.0, below: float = 0.15, quiet: int = 6) -> float:
    """Let a server finish background work (scoring backlog) before the next run: its CPU below
    `below` cores for `quiet` seconds in a row (the scoring backfill pauses 5 s between
    rounds, so one quiet second proves nothing)."""
    sampler = common.ProcSampler(pid)
    start = time.monotonic()
    calm = 0
    while time.monotonic() - start < limit and calm < quiet:
        sampler.start()
        time.sleep(1.0)
        cores, _ = sampler.stop()
        calm = calm + 1 if cores < below else 0
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one round, 1,000 msg/s and full speed")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rates", default="250,500,1000,1500,2000", help="offered msg/s levels")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=2, help="rounds of the whole comparison")
    p.add_argument("--procs", type=int, default=2, help="load-generator processes")
    p.add_argument("--servers", default="bare_ws,socketio,socketio_node,peerchat")
    p.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    p.add_argument("--no-full", action="store_true", help="skip the full-speed runs")
    p.add_argument("--env", action="append", default=[], help="extra PEERCHAT_X=Y for peerchat")
    p.add_argument("--json", default=None, help="write results here (default docs/benchmarks/)")
    p.add_argument(
        "--pyspy",
        default=None,
        metavar="DIR",
        help="record py-spy profiles (raw, per thread) of peerchat's measured windows here",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.rates, args.duration, args.warmup, args.rounds = "1000", 4.0, 1.0, 1
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    common.raise_nofile()
    common.print_machine()
    print(
        f"# workload: {args.clients} clients, half in groups of 10, half one-to-one; "
        f"{args.procs} generator processes; deflate offered: {args.deflate}"
    )

    procs: dict[str, common.ServerProc] = {}
    workloads: dict[str, list[common.Client]] = {}
    summaries: list[RunSummary] = []
    try:
        t = time.monotonic()
        for name in servers:
            if name == "peerchat":
                extra = dict(kv.split("=", 1) for kv in args.env)
                server = common.start_peerchat(
                    staff=[("bench-worker-0", "peer_worker")],
                    env_extra=extra,
                )
                procs[name] = server
                workloads[name] = asyncio.run(
                    common.setup_workload(
                        server.http,
                        args.clients,
                        workers=["bench-worker-0"],
                    )
                )
            else:
                procs[name] = common.start_baseline(name)
                workloads[name] = common.baseline_workload(args.clients)
        print(f"# servers up and workload set up in {time.monotonic() - t:.1f}s")
        # Fixed rates first, lowest first, full speed last: full speed leaves peerchat a
        # scoring backlog of tens of seconds, which must not land in another level's numbers.
        levels: list[tuple[str, float]] = [("rate", r) for r in sorted(rates)] + (
            [] if args.no_full else [("full", 0.0)]
        )
        for rnd in range(args.rounds):
            for mode, rate in levels:
                for name in servers:
                    server = procs[name]
                    # Every server idle first, this one too: peerchat's scoring backlog from
                    # the previous level would otherwise be measured as this level's load.
                    for other in procs.values():
                        wait_idle(other.popen.pid)
                    spec = LoadSpec(
                        url=server.ws_url,
                        protocol="socketio" if name.startswith("socketio") else "peerchat",
                        mode=mode,
                        rate=rate,
                        warmup=args.warmup,
                        duration=args.duration,
                        drain=1.5 if args.quick else 2.0,
                        deflate=args.deflate,
                    )
                    on_window = None
                    if args.pyspy and name == "peerchat":
                        out_file = Path(args.pyspy) / f"peerchat-{mode}-{int(rate)}-r{rnd + 1}.txt"
                        on_window = common.pyspy_window(server.popen.pid, out_file, args.duration)
                    s = common.run_load(
                        name, spec, workloads[name], server.popen.pid, args.procs,
                        on_window=on_window,
                    )  # fmt: skip
                    summaries.append(s)
                    print(
                        common.table([s.row()]).splitlines()[-1] + f"  (round {rnd + 1})",
                        flush=True,
                    )
    finally:
        for server in procs.values():
            server.stop()

    rows = [s.row() for s in summaries]
    print()
    print(common.table(rows, "## every run"))
    # Ratios per level: best of rounds (median would need >= 3 rounds).
    ratio_rows = []
    for mode, rate in [("full", 0.0)] + [("rate", r) for r in rates]:
        best: dict[str, RunSummary] = {}
        for s in summaries:
            if s.mode == mode and (mode == "full" or s.offered == rate):
                cur = best.get(s.label)
                if cur is None or s.deliveries_per_s > cur.deliveries_per_s:
                    best[s.label] = s
        if "peerchat" not in best:
            continue
        pc = best["peerchat"]
        row = {
            "mode": mode,
            "offered msg/s": rate if mode == "rate" else float("nan"),
            "peerchat deliveries/s": pc.deliveries_per_s,
            "peerchat p99 ms": pc.p99_ms,
            "peerchat per core-s": pc.per_core,
        }
        for base in ("bare_ws", "socketio", "socketio_node"):
            if base in best:
                b = best[base]
                row[f"{base} deliveries/s"] = b.deliveries_per_s
                row[f"{base} p99 ms"] = b.p99_ms
                row[f"peerchat/{base}"] = pc.deliveries_per_s / max(1e-9, b.deliveries_per_s)
                row[f"per-core peerchat/{base}"] = pc.per_core / b.per_core
        ratio_rows.append(row)
    print(common.table(ratio_rows, "## peerchat against the baselines (best of rounds)"))
    targets = []
    full = [r for r in ratio_rows if r["mode"] == "full"]
    checks = (
        ("full-speed deliveries >= 0.5x bare websockets", "peerchat/bare_ws", 0.5),
        ("full-speed deliveries >= 1.0x python-socketio", "peerchat/socketio", 1.0),
        ("(per core-s of server CPU) >= 0.5x bare websockets", "per-core peerchat/bare_ws", 0.5),
        ("(per core-s of server CPU) >= 1.0x python-socketio", "per-core peerchat/socketio", 1.0),
    )
    for label, key, floor in checks:  # full speed
        if full and key in full[0]:
            targets.append((label, f"{full[0][key]:.2f}x", full[0][key] >= floor))
    for rate in (250.0, 1000.0):  # serving cost at fixed rates (run with the model off)
        at = [r for r in ratio_rows if r["mode"] == "rate" and r["offered msg/s"] == rate]
        for base in ("socketio", "socketio_node"):
            key = f"per-core peerchat/{base}"
            if at and key in at[0]:
                label = f"(per core-s) >= 1.0x {base} at {rate:,.0f} msg/s"
                targets.append((label, f"{at[0][key]:.2f}x", at[0][key] >= 1.0))
    at1000 = [
        s for s in summaries if s.label == "peerchat" and s.mode == "rate" and s.offered == 1000
    ]
    if at1000:
        p99 = min(s.p99_ms for s in at1000)
        targets.append(
            ("p99 <= 50 ms at 1,000 msg/s over 1,000 clients", f"{p99:.1f} ms", p99 <= 50)
        )
    if targets:
        print(
            common.table(
                [{"target": a, "measured": b, "met": "yes" if c else "NO"} for a, b, c in targets],
                "## targets",
            )
        )
    out = (
        Path(args.json)
        if args.json
        else OUT / ("ws_fanout_quick.json" if args.quick else "ws_fanout.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": common.machine(),
        "argv": sys.argv,
        "runs": [
            {
                **s.row(),
                "latency_sample_ms": [
                    x * 1000 for x in s.latencies[:: max(1, len(s.latencies) // 2000)]
                ],
            }
            for s in summaries
        ],
    }
    out.write_text(json.dumps(payload, indent=1, default=str))
    print(f"# results written to {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
