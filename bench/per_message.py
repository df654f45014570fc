"""The cost of one message, counted rather than timed: per message sent at a fixed low rate
(nothing batches), each server thread's CPU milliseconds and context switches, and, with
--strace, the system calls of the whole server by name.

    python -m bench.per_message                  # peerchat, model off, 250 msg/s, 1,000 clients
    python -m bench.per_message --strace         # plus system calls per message (slower)
    python -m bench.per_message --servers peerchat,socketio,socketio_node

CPU milliseconds depend on how busy the machine is; context switches and system calls do not
(a thread hop costs a switch at each end, however fast the CPU), so they compare code paths
across runs and machines. Deliveries per message depend on the room mix (groups of 10 and
one-to-one rooms: about 4.9 deliveries per message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common


def _strace_counts(path: str) -> dict[str, int]:
    """`strace -c` summary -> {syscall: calls}."""
    counts: dict[str, int] = {}
    with contextlib.suppress(OSError), open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 5 and re.fullmatch(r"[\d.]+", parts[0]) and parts[-1] != "total":
                with contextlib.suppress(ValueError):
                    counts[parts[-1]] = int(parts[3])
    return counts


def run(name: str, server: common.ServerProc, clients: list[Any], args: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    handle, trace_out = tempfile.mkstemp(prefix="strace-", suffix=".txt")
    os.close(handle)

    def window_start() -> None:
        state["before"] = common.thread_counters(server.popen.pid)
        if args.strace and shutil.which("strace"):
            state["strace"] = subprocess.Popen(
                ["strace", "-c", "-f", "-o", trace_out, "-p", str(server.popen.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        def window_end() -> None:
            state["after"] = common.thread_counters(server.popen.pid)
            tracer = state.get("strace")
            if tracer is not None:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)

        timer = threading.Timer(args.duration, window_end)
        timer.start()
        state["timer"] = timer

    spec = common.LoadSpec(
        url=server.ws_url,
        protocol="socketio" if name.startswith("socketio") else "peerchat",
        mode="rate",
        rate=args.rate,
        warmup=args.warmup,
        duration=args.duration,
    )
    summary = common.run_load(name, spec, clients, server.popen.pid, on_window=window_start)
    state["timer"].join()
    messages = summary.sends_per_s * args.duration
    delta = common.counters_delta(state["before"], state["after"])
    row: dict[str, Any] = {
        "server": name,
        "msg/s": summary.sends_per_s,
        "deliveries/msg": summary.deliveries_per_s / max(1e-9, summary.sends_per_s),
        "lost": summary.lost,
        "cpu ms/msg": sum(d["cpu_s"] for d in delta.values()) * 1000 / messages,
        "switches/msg": sum(d["switches"] for d in delta.values()) / messages,
    }
    for key, d in sorted(delta.items(), key=lambda kv: -kv[1]["switches"]):
        if d["switches"] / messages >= 0.05 or d["cpu_s"] * 1000 / messages >= 0.01:
            row[f"{key} ({int(d['threads'])}) cpu ms/msg"] = d["cpu_s"] * 1000 / messages
            row[f"{key} switches/msg"] = d["switches"] / messages
    if args.strace:
        counts = _strace_counts(trace_out)
        row["syscalls/msg"] = sum(counts.values()) / messages
        for call, n in sorted(counts.items(), key=lambda kv: -kv[1])[:8]:
            row[f"{call}/msg"] = n / messages
        with contextlib.suppress(OSError):
            os.unlink(trace_out)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rate", type=float, default=250.0)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--servers", default="peerchat")
    p.add_argument("--model", action="store_true", help="peerchat with its model on")
    p.add_argument("--strace", action="store_true", help="count system calls (strace -c -f)")
    p.add_argument("--json", default=None, help="write results here")
    args = p.parse_args(argv)
    common.raise_nofile()
    common.print_machine()
    rows = []
    for name in [s.strip() for s in args.servers.split(",") if s.strip()]:
        if name == "peerchat":
            env = {"PEERCHAT_MODEL_ENABLED": "true" if args.model else "false"}
            server = common.start_peerchat(staff=[("bench-worker-0", "peer_worker")], env_extra=env)
            clients = asyncio.run(
                common.setup_workload(server.http, args.clients, workers=["bench-worker-0"])
            )
        else:
            server = common.start_baseline(name)
            clients = common.baseline_workload(args.clients)
        try:
            time.sleep(2)
            rows.append(run(name, server, clients, args))
        finally:
            server.stop()
    for row in rows:
        print(f"\n## {row['server']}")
        for key, value in row.items():
            print(f"{key:>48}: {value:,.3f}" if isinstance(value, float) else f"{key:>48}: {value}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": common.machine(), "argv": sys.argv, "rows": rows}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
