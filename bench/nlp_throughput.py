"""Speed of the peerchat NLP model on this machine (prints tables; not a test).

    python bench/nlp_throughput.py [--seconds 10] [--rate 100] [--n 2000] [--tweets FILE]

1. Throughput: chat-length messages scored with ``Model.score_batch`` in batches.
2. Latency: messages arriving at an offered rate (Poisson, seeded) through ``BatchingScorer``;
   latency is measured from a message's arrival time to its score being available.
3. Batch independence: labels and scores of messages scored alone against in batches of 32.
Rows: torch float32, torch's per-token int8 (``nlp.quantize``, the default before; only where
torch has AVX-512 kernels: with AVX2 alone its warm-up takes minutes), ONNX Runtime per-token int8
(``nlp.training.export``), all in this process, and ``auto`` (the load-time probe's choice) in
a child process (``nlp.worker.ModelProcess``), which is how the service runs it. Then:
4. a node's start-up: ``peerchat serve`` to ``/readyz`` 200 (model loaded);
5. ``peerchat score`` over the TweetEval sentiment test tweets, start-up included.
Run it again with ``ATEN_CPU_CAPABILITY=avx2`` for torch's AVX2 kernels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PEERCHAT, start_peerchat
from nlp.model import Model, load_model
from nlp.scorer import BatchingScorer, Scores
from nlp.types import NlpRuntime
from nlp.worker import ModelProcess

TWEETS = Path(__file__).resolve().parents[2] / "shared/data/tweeteval/sentiment/test_text.txt"

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


def batch_independence(model: Model, msgs: list[str]) -> tuple[int, float]:
    """(labels that change, largest sentiment-score change) alone against in batches of 32."""
    alone = [model.score_batch([m])[0] for m in msgs]
    batched = [s for i in range(0, len(msgs), 32) for s in model.score_batch(msgs[i : i + 32])]
    changed = sum(
        a.sentiment.label != b.sentiment.label or a.risk.level != b.risk.level
        for a, b in zip(alone, batched, strict=True)
    )
    drift = max(
        abs(a.sentiment.score - b.sentiment.score) for a, b in zip(alone, batched, strict=True)
    )
    return changed, drift


def node_ready_seconds() -> float:
    """`peerchat serve` on embedded defaults until /readyz is 200 (model loaded)."""
    t0 = time.perf_counter()
    server = start_peerchat(create_users=False, ready_timeout=600)
    ready = time.perf_counter() - t0
    server.stop()
    return ready


def score_cli(tweets: Path) -> tuple[int, float]:
    """(tweets scored, seconds) for `peerchat score` over a file of tweets, start-up included."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "tweets.jsonl"
        lines = tweets.read_text(encoding="utf-8").splitlines()
        src.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(lines))
        )
        t0 = time.perf_counter()
        with src.open("rb") as stdin:
            out = subprocess.run([PEERCHAT, "score"], stdin=stdin, capture_output=True, check=True)
        seconds = time.perf_counter() - t0
    scored = sum(1 for line in out.stdout.splitlines() if b'"sentiment"' in line)
    return scored, seconds


def throughput(model: Scores, msgs: list[str], batch: int) -> tuple[float, float]:
    """(messages per second of wall time, messages per CPU-second of this process).

    The second hardly depends on what else runs on the machine, so it is the figure to compare
    on a busy one (it is meaningless for a child process, whose CPU is not this process's)."""
    model.score_batch(msgs[:batch])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(0, len(msgs), batch):
        model.score_batch(msgs[s : s + batch])
    return len(msgs) / (time.perf_counter() - t0), len(msgs) / (time.process_time() - c0)


def interleaved(models: dict[str, Model], msgs: list[str], rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` messages/s in batches of 32 (``msgs`` sorted by length, as
    ``score_batch`` does), the paths taking turns each round: a burst of load elsewhere hits
    all of them alike, and the best round estimates what a quiet core does."""
    best = dict.fromkeys(models, 0.0)
    for _ in range(rounds):
        for name, model in models.items():
            model.score_batch(msgs[:32])
            t0 = time.perf_counter()
            for s in range(0, len(msgs), 32):
                model.score_batch(msgs[s : s + 32])
            best[name] = max(best[name], len(msgs) / (time.perf_counter() - t0))
    return best


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
    ap.add_argument("--tweets", type=Path, default=TWEETS, help="tweets for `peerchat score`")
    ap.add_argument(
        "--with-torch-int8", action="store_true", help="torch int8 row even without AVX-512"
    )
    ap.add_argument("--no-service", action="store_true", help="skip the node and CLI timings")
    ap.add_argument(
        "--interleaved",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only compare the paths' batch throughput, best of ROUNDS interleaved rounds",
    )
    args = ap.parse_args()
    msgs = chat_messages(args.n)
    if args.interleaved:
        capability = torch.backends.cpu.get_cpu_capability()
        paths = [NlpRuntime.TORCH_FLOAT32, NlpRuntime.ONNX_INT8]
        if capability.startswith("AVX512") or args.with_torch_int8:
            paths.insert(1, NlpRuntime.TORCH_INT8)
        models = {p.value: load_model(runtime=p, threads=args.threads) for p in paths}
        best = interleaved(models, sorted(msgs[:640], key=len), args.interleaved)
        print(f"torch CPU capability: {capability}; best of {args.interleaved} interleaved rounds")
        for name, value in best.items():
            ratio = value / best[NlpRuntime.TORCH_FLOAT32.value]
            print(f"| {name} | {value:.0f} msgs/s | {ratio:.2f}x float32 |")
        return 0
    print(
        f"# peerchat nlp benchmark, {platform.machine()}, {os.cpu_count()} CPU, "
        f"mean message length {statistics.mean(len(m) for m in msgs):.0f} chars\n"
    )
    print(
        "| encoder | runs in | load s | msgs/s batch 32 | msgs per CPU-s batch 32 | "
        "msgs/s batch 64 | "
        f"p50 ms @ {args.rate:g}/s | p99 ms @ {args.rate:g}/s | max ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    capability = torch.backends.cpu.get_cpu_capability()
    rows: list[tuple[str, NlpRuntime, bool]] = [("torch float32", NlpRuntime.TORCH_FLOAT32, False)]
    if capability.startswith("AVX512") or args.with_torch_int8:
        rows.append(("torch int8, per-token (before)", NlpRuntime.TORCH_INT8, False))
    rows += [
        ("ONNX Runtime int8, per-token", NlpRuntime.ONNX_INT8, False),
        ("auto (probe at load)", NlpRuntime.AUTO, True),
    ]
    independence: list[str] = []
    for label, runtime, child in rows:
        t0 = time.perf_counter()
        model: Scores
        if child:
            process = ModelProcess(threads=args.threads, runtime=runtime)
            process.start()
            model = process
            runs = "child process"
        else:
            loaded = load_model(runtime=runtime, threads=args.threads)
            model, runs = loaded, f"this process ({loaded.runtime.value})"
        load_s = time.perf_counter() - t0
        tp32, cpu32 = throughput(model, msgs, 32)
        tp64, _ = throughput(model, msgs, 64)
        lat = asyncio.run(latency(model, msgs, args.rate, args.seconds, args.max_wait_ms))
        if child:
            process.close()
        else:
            changed, drift = batch_independence(loaded, msgs[:500])
            independence.append(f"| {label} | {changed} of 500 | {drift:.2g} |")
        print(
            f"| {label} | {runs} | {load_s:.1f} | {tp32:.0f} | "
            f"{'-' if child else f'{cpu32:.0f}'} | {tp64:.0f} | "
            f"{1000 * pct(lat, 0.5):.1f} | {1000 * pct(lat, 0.99):.1f} | {1000 * max(lat):.1f} |",
            flush=True,
        )
    print(f"\ntorch CPU capability: {capability}\n")
    print(
        "| path | labels (sentiment or risk) changed, alone vs batch of 32 | largest score change |"
    )
    print("|---|---:|---:|")
    print("\n".join(independence), flush=True)
    if not args.no_service:
        print(
            f"\nnode ready (`peerchat serve` to /readyz 200): {node_ready_seconds():.1f} s",
            flush=True,
        )
        if args.tweets.is_file():
            n, seconds = score_cli(args.tweets)
            print(
                f"`peerchat score`, {n} tweets, start-up included: {seconds:.1f} s, "
                f"{n / seconds:.0f} messages/s",
                flush=True,
            )
        else:
            print(f"(no {args.tweets}: `peerchat score` not measured)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
