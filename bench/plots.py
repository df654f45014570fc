"""Plots of the suite's saved results (matplotlib PNGs in docs/benchmarks/).

python -m bench.plots [docs/benchmarks/ws_fanout.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT

OUT = ROOT / "docs" / "benchmarks"


def latency_vs_load(path: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(path.read_text())
    runs = [r for r in data["runs"] if r["mode"] == "rate"]
    made = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for server in sorted({r["server"] for r in runs}):
        pts: dict[float, dict[str, float]] = {}
        for r in runs:
            if r["server"] != server:
                continue
            best = pts.get(r["offered msg/s"])
            if best is None or r["p99 ms"] < best["p99 ms"]:
                pts[r["offered msg/s"]] = r
        xs = sorted(pts)
        for ax, key in zip(axes, ("p50 ms", "p99 ms"), strict=True):
            ax.plot(xs, [pts[x][key] for x in xs], marker="o", label=server)
    for ax, key in zip(axes, ("p50", "p99"), strict=True):
        ax.set_xlabel("offered load (messages sent per second, all clients)")
        ax.set_ylabel(f"{key} send-to-receipt latency (ms)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.axhline(50, color="grey", linestyle="--", linewidth=0.8)
        ax.legend()
    m = data.get("machine", {})
    fig.suptitle(
        f"fan-out latency against offered load ({m.get('cpus (nproc)', '?')} cores, "
        f"{m.get('date', '')}, load avg {m.get('load average at start', '?')})"
    )
    fig.tight_layout()
    target = OUT / f"{path.stem}_latency.png"
    fig.savefig(target, dpi=110)
    made.append(target)
    fig2, ax2 = plt.subplots(figsize=(6, 4))
    full = [r for r in data["runs"] if r["mode"] == "full"]
    names = [r["server"] for r in full]
    ax2.bar(names, [r["deliveries per core-s"] for r in full])
    ax2.set_ylabel("deliveries per second of server CPU")
    ax2.set_title("full speed: deliveries per core-second")
    fig2.tight_layout()
    target2 = OUT / f"{path.stem}_per_core.png"
    fig2.savefig(target2, dpi=110)
    made.append(target2)
    return made


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or [
        p for p in (OUT / "ws_fanout.json", OUT / "ws_fanout_quick.json") if p.exists()
    ]
    for path in paths:
        for made in latency_vs_load(path):
            print(f"wrote {made.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
