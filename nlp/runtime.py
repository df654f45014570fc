"""Which kernels run the network at inference, chosen at load from what this CPU does fast.

Why measured and not assumed: int8 is not faster everywhere. torch's int8 GEMM was 30 times
slower than float32 on a CPU with AVX2 alone, and the service took five minutes to become
ready there. So at load the candidates score the same short probe (a batch of chat-length
messages and a single one, well under a second in all), and the fastest is kept, float32 unless
ONNX Runtime's int8 beats it clearly. Nothing slower than float32 on this CPU is ever chosen.

The ONNX graph (``nlp.training.export``) must have been made from the weights being loaded: its
recorded digest is compared with theirs. A stale or missing graph is re-made into a cache folder
(``$PEERCHAT_NLP_CACHE_DIR``, default ``nlp/.cache``) and, should that fail, float32 runs; each
case is logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from nlp.network import PeerchatNet
from nlp.types import NlpRuntime

log = logging.getLogger(__name__)

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
PROBE_MESSAGES = (
    "hey how was your day",
    "I had a really rough week at work and my manager keeps piling things on",
    "I feel kind of lonely tonight",
    "that actually helped a lot, thank you for listening",
    "my exams start monday and I'm freaking out",
    "idk I don't know what to do about my parents fighting all the time",
    "can't sleep again",
    "I keep overthinking everything I said today and I can't stop",
    "thanks so much for being here",
    "ugh my friend stopped replying to my messages and I don't know why",
    "it's been a good day for once",
    "lol we adopted a puppy!!",
    "honestly I feel like nobody gets me",
    "rough day :( but I'm ok",
    "work was fine, dinner was great",
    "just wanted to say hi",
)
PROBE_BUDGET_S = 0.6  # timed rounds stop once this much has been spent (after one full round)
PROBE_ROUNDS = 5
INT8_MARGIN = 0.9  # int8 is chosen only when it takes at most 90% of float32's time

Outputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class Runner(Protocol):
    """Runs the network on token ids: (embedding, sentiment, emotion, crisis) logits, as
    ``PeerchatNet.forward`` returns them."""

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, /) -> Outputs: ...


class TorchRunner:
    """The torch network itself (float32, or with ``nlp.quantize``'s int8 layers)."""

    def __init__(self, net: PeerchatNet) -> None:
        self.net = net

    @torch.inference_mode()
    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Outputs:
        out = self.net(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return out.embedding, out.sentiment_logits, out.emotion_logits, out.crisis_logit


class OnnxRunner:
    """The int8 graph from ``nlp.training.export`` in ONNX Runtime, on ``threads`` threads."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about the graph are ours to fix, not the log's
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Outputs:
        feeds = {
            "input_ids": input_ids.astype(np.int64, copy=False),
            "attention_mask": attention_mask.astype(np.int64, copy=False),
        }
        emb, sent, emo, crisis = self.session.run(None, feeds)
        return (
            torch.from_numpy(emb),
            torch.from_numpy(sent),
            torch.from_numpy(emo),
            torch.from_numpy(crisis),
        )


def cache_dir() -> Path:
    return Path(os.environ.get("PEERCHAT_NLP_CACHE_DIR") or CACHE_DIR)


def current_artifact(weights_dir: Path) -> Path | None:
    """The int8 graph made from these weights: the committed one, else one re-made in the
    cache. None (logged) when neither can be had: the caller then runs float32."""
    from nlp.training.export import ARTIFACT_FILE, artifact_digest, export, weights_digest

    want = weights_digest(weights_dir)
    committed = weights_dir / ARTIFACT_FILE
    if committed.is_file() and artifact_digest(committed) == want:
        return committed
    cached = cache_dir() / f"peerchat-nlp-{want[:16]}.int8.onnx"
    if cached.is_file() and artifact_digest(cached) == want:
        log.warning("nlp: %s does not match the weights; using %s", committed, cached)
        return cached
    log.warning(
        "nlp: %s is %s for these weights (%s); re-making it in %s "
        "(commit one with `python -m nlp.training.export`)",
        committed,
        "stale" if committed.is_file() else "missing",
        want[:12],
        cached.parent,
    )
    try:
        t0 = time.perf_counter()
        export(weights_dir, cached)
    except Exception:
        log.exception("nlp: could not make the int8 graph; float32 will run")
        return None
    log.info("nlp: made %s in %.1f s", cached, time.perf_counter() - t0)
    return cached


@dataclass
class Choice:
    """The runner kept, and what the probe measured (seconds per probe, best round)."""

    runtime: NlpRuntime
    runner: Runner
    timings: dict[NlpRuntime, float] = field(default_factory=dict)
    probe_seconds: float = 0.0

    def describe(self) -> str:
        probe = ", ".join(f"{k.value} {1000 * v:.1f} ms" for k, v in self.timings.items())
        probe = f"probe {self.probe_seconds:.2f} s: {probe}" if probe else "not probed"
        return f"{self.runtime.value} ({probe}; torch CPU capability " + (
            f"{torch.backends.cpu.get_cpu_capability()})"
        )


def probe(
    candidates: dict[NlpRuntime, Runner],
    encode: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]],
) -> dict[NlpRuntime, float]:
    """Best time of each candidate over a batch of 16 chat messages plus one message alone,
    rounds interleaved (so that a burst of load elsewhere hits all alike), bounded in time."""
    inputs = [encode(PROBE_MESSAGES), encode(PROBE_MESSAGES[:1])]
    best = dict.fromkeys(candidates, float("inf"))
    for runner in candidates.values():  # first runs build caches and kernels: not timed
        for ids, mask in inputs:
            runner(ids, mask)
    start = time.perf_counter()
    for _ in range(PROBE_ROUNDS):
        for name, runner in candidates.items():
            t0 = time.perf_counter()
            for ids, mask in inputs:
                runner(ids, mask)
            best[name] = min(best[name], time.perf_counter() - t0)
        if time.perf_counter() - start > PROBE_BUDGET_S:
            break
    return best


def choose(
    wanted: NlpRuntime,
    net: PeerchatNet,
    weights_dir: Path,
    threads: int,
    encode: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]],
) -> Choice:
    """The runner for ``wanted``; for AUTO, the faster of ONNX int8 and torch float32 here."""
    if wanted in (NlpRuntime.TORCH_FLOAT32, NlpRuntime.TORCH_INT8):
        return Choice(wanted, TorchRunner(net))
    float32 = TorchRunner(net)
    onnx: Runner | None = None
    artifact = current_artifact(weights_dir)
    if artifact is not None:
        try:
            onnx = OnnxRunner(artifact, threads)
        except Exception:
            log.exception("nlp: ONNX Runtime could not load %s; float32 will run", artifact)
    if onnx is None:
        return Choice(NlpRuntime.TORCH_FLOAT32, float32)
    if wanted is NlpRuntime.ONNX_INT8:
        return Choice(wanted, onnx)
    t0 = time.perf_counter()
    timings = probe({NlpRuntime.TORCH_FLOAT32: float32, NlpRuntime.ONNX_INT8: onnx}, encode)
    kept = decide(timings)
    runner = onnx if kept is NlpRuntime.ONNX_INT8 else float32
    return Choice(kept, runner, timings, time.perf_counter() - t0)


def decide(timings: dict[NlpRuntime, float]) -> NlpRuntime:
    """ONNX int8 only when clearly faster than float32 here; on a tie float32 (exact) stays."""
    if timings[NlpRuntime.ONNX_INT8] <= INT8_MARGIN * timings[NlpRuntime.TORCH_FLOAT32]:
        return NlpRuntime.ONNX_INT8
    return NlpRuntime.TORCH_FLOAT32
