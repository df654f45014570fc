"""Scale-out: one node against two nodes, both on PostgreSQL + Redis, same workload, same run.

    python -m bench.scale_out            # 1,000 clients: full speed, then 500 and 1,000 msg/s
    python -m bench.scale_out --quick    # 500 clients: full speed and 500 msg/s

Clients are spread round-robin over the nodes (members of one room land on different nodes,
so fan-out crosses Redis, as behind a load balancer without sticky sessions). Server CPU is
the sum over the nodes. On a 2-core machine the nodes, PostgreSQL, Redis and the load
generators share the same two cores: read the per-core column, not the raw throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rates", default="500,1000")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--procs", type=int, default=2)
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.rates, args.duration = min(args.clients, 500), "500", 4.0
    common.raise_nofile()
    common.print_machine()
    rows = []
    # Fixed rates first, full speed last: full speed leaves a scoring backlog behind.
    levels = [("rate", float(r)) for r in args.rates.split(",") if r] + [("full", 0.0)]
    for n in (1, 2):
        with common.Cluster(n, staff=[("bench-worker-0", "peer_worker")]) as cluster:
            clients = asyncio.run(
                common.setup_workload(
                    cluster.nodes[0].http, args.clients, workers=["bench-worker-0"]
                )
            )
            for i, c in enumerate(clients):
                c.url = cluster.nodes[i % n].ws_url
            for mode, rate in levels:
                spec = common.LoadSpec(
                    url=cluster.nodes[0].ws_url,
                    protocol="peerchat",
                    mode=mode,
                    rate=rate,
                    warmup=1.5,
                    duration=args.duration,
                )
                s = common.run_load(
                    f"{n} node{'s' if n > 1 else ''}",
                    spec,
                    clients,
                    cluster.nodes[0].popen.pid,
                    args.procs,
                    extra_pids=[x.popen.pid for x in cluster.nodes[1:]],
                )
                rows.append(s.row())
                print(common.table([rows[-1]]).splitlines()[-1], flush=True)
    print()
    print(common.table(rows, "## one node against two, PostgreSQL + Redis"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
