"""Speed of the peerchat NLP model on this machine (prints a table; not a test).

    python bench/nlp_throughput.py [--seconds 10] [--rate 100] [--n 2000]

1. Throughput: chat-length messages scored with ``Model.score_batch`` in batches.
2. Latency: messages arriving at an offered rate (Poisson, seeded) through ``BatchingScorer``;
   latency is measured from a message's arrival time to its score being available.
Both are run for the float32 encoder, torch's dynamic int8 (the scheme used before
``nlp.quantize``, kept here as the baseline it replaced) and ``nlp.quantize``'s int8 in this
process, and for the latter in a child process (``nlp.worker.ModelProcess``), which is how the
service runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.model import Model, load_model
from nlp.scorer import BatchingScorer, Scores
from nlp.worker import ModelProcess

_OPENERS = ["hey", "honestly", "ok so", "idk", "lol", "ugh", "thanks", "so", "yeah", "hmm"]
_BODIES = [
    "how was your day",
    "I had a really rough week at work and my manager keeps piling things on",
    "I feel kind of lonely tonight",
    "that actually helped a lot, thank you for listening",
    "my exams start monday and I'm freaking out",
    "we adopted a puppy!!",
    "I don't know what to do about my parents fighting all the time",
    "can't sleep again",
    "it's been a good day for once",
    "I feel like nobody gets me",
    "my friend stopped replying to my messages and I don't know why",
    "just wanted to say hi",
    "I keep overthinking everything I said today",
    "work was fine, dinner was great",
    "that's so sweet 😭❤️",
    "rough day :( but I'm ok",
]


def chat_messages(n: int, seed: int = 0) -> list[str]:
    """Synthetic chat lines of typical length (2-30 words)."""
    rng = random.Random(seed)
    return [f"{rng.choice(_OPENERS)} {rng.choice(_BODIES)}" for _ in range(n)]


def torch_dynamic_int8(threads: int) -> Model:
    """The replaced scheme: activations scaled per tensor, so results depend on the batch."""
    model = load_model(quantize=False, threads=threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.net.encoder = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model.net.encoder,
            {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
            dtype=torch.qint8,
        )
    return model


def throughput(model: Scores, msgs: list[str], batch: int) -> float:
    model.score_batch(msgs[:batch])  # warm-up
    t0 = time.perf_counter()
    for s in range(0, len(msgs), batch):
        model.score_batch(msgs[s : s + batch])
    return len(msgs) / (time.perf_counter() - t0)


async def latency(
    model: Scores, msgs: list[str], rate: float, seconds: float, max_wait_ms: float
) -> list[float]:
    scorer = BatchingScorer(model, max_batch=32, max_wait_ms=max_wait_ms)
    await scorer.start()
    await scorer.score("warm up")
    rng = random.Random(1)
    loop = asyncio.get_running_loop()
    lat: list[float] = []

    async def one(text: str, arrival: float) -> None:
        await scorer.score(text)
        lat.append(loop.time() - arrival)

    tasks = []
    start = loop.time()
    t = 0.0
    i = 0
    while t < seconds:
        t += rng.expovariate(rate)
        delay = start + t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(msgs[i % len(msgs)], start + t)))
        i += 1
    await asyncio.gather(*tasks)
    await scorer.stop()
    return lat


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=2000, help="messages for the throughput test")
    ap.add_argument("--rate", type=float, default=100.0, help="offered messages/s for latency")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the latency test")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1, as the service)"
    )
    ap.add_argument("--max-wait-ms", type=float, default=5.0, help="BatchingScorer max_wait_ms")
    args = ap.parse_args()
    msgs = chat_messages(args.n)
    print(
        f"# peerchat nlp benchmark, {platform.machine()}, {os.cpu_count()} CPU, "
        f"mean message length {statistics.mean(len(m) for m in msgs):.0f} chars\n"
    )
    print(
        "| encoder | runs in | load s | msgs/s batch 32 | msgs/s batch 64 | "
        f"p50 ms @ {args.rate:g}/s | p99 ms @ {args.rate:g}/s | max ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rows = (
        ("float32", False, False),
        ("int8, torch dynamic (before)", None, False),
        ("int8, per-token activations", True, False),
        ("int8, per-token activations", True, True),
    )
    for label, quant, child in rows:
        t0 = time.perf_counter()
        model: Scores
        if child:
            process = ModelProcess(quantize=quant, threads=args.threads)
            process.start()
            model = process
        elif quant is None:
            model = torch_dynamic_int8(args.threads)
        else:
            model = load_model(quantize=quant, threads=args.threads)
        load_s = time.perf_counter() - t0
        tp32 = throughput(model, msgs, 32)
        tp64 = throughput(model, msgs, 64)
        lat = asyncio.run(latency(model, msgs, args.rate, args.seconds, args.max_wait_ms))
        if child:
            process.close()
        print(
            f"| {label} | "
            f"{'child process' if child else 'this process'} | {load_s:.1f} | "
            f"{tp32:.0f} | {tp64:.0f} | "
            f"{1000 * pct(lat, 0.5):.1f} | {1000 * pct(lat, 0.99):.1f} | {1000 * max(lat):.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
