"""Summarise `py-spy record --threads -f raw` output: samples per thread, and for one thread the
functions with the largest inclusive share (each function counted once per stack).

    python -m bench.pyspy_summary profile.txt [--thread MainThread] [--top 30]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LOCATION = re.compile(r" \(.*\)$")


def summarise(path: Path, thread: str, top: int) -> str:
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        name = re.sub(r"^thread \(\d+\): ", "", frames[0])
        name = re.sub(r"-\d+ ", " ", name)  # pool threads of one kind together
        threads[name] += int(count)
        if thread in frames[0]:
            for fn in {_LOCATION.sub("", f) for f in frames[1:]}:
                inclusive[fn] += int(count)
    total = sum(threads.values()) or 1
    out = [f"samples: {total}"]
    out += [f"{n:7d} {n * 100 / total:5.1f}%  {name}" for name, n in threads.most_common()]
    own = sum(n for name, n in threads.items() if thread in name) or 1
    out.append(f"\n{thread}: {own} samples; inclusive share of its samples")
    out += [f"{n * 100 / own:5.1f}%  {fn}" for fn, n in inclusive.most_common(top)]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("path", type=Path)
    p.add_argument("--thread", default="MainThread")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    print(summarise(args.path, args.thread, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
