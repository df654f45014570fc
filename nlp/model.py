"""The scoring model: encoder + heads + crisis rules, behind one synchronous ``score_batch``."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from nlp.batching import pad, plan
from nlp.crisis_classifier import CrisisClassifier
from nlp.crisis_lexicon import CrisisLexicon, default_lexicon
from nlp.encoder import load_tokenizer
from nlp.network import WEIGHTS_DIR, PeerchatNet, load_net
from nlp.quantize import quantize_encoder
from nlp.risk import RiskThresholds, SemanticSignals, assess
from nlp.runtime import Runner, TorchRunner, choose
from nlp.text import encoder_text
from nlp.types import SENTIMENT_LABELS, MessageScore, NlpRuntime, Sentiment

log = logging.getLogger(__name__)

EXEMPLARS_PATH = Path(__file__).resolve().parent / "lexicon" / "exemplars.json"
CHUNK = 64  # texts per forward pass at most; larger batches are split (memory, latency)
# Emotions reported to callers (the "neutral" output of the Ekman head is not an emotion).
REPORTED_EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise")


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads: argument, else $PEERCHAT_NLP_THREADS, else 1.

    One thread by default: on a 2-core host the service's event loop needs the other core, and
    busy-waiting torch threads were measured to triple tail latency (docs/model-card.md). Batch
    jobs such as ``peerchat score`` on an idle machine gain ~20% throughput from 2.
    """
    n = threads or int(os.environ.get("PEERCHAT_NLP_THREADS", "0") or 0) or 1
    torch.set_num_threads(n)
    return n


def token_rows(
    tokenizer: PreTrainedTokenizerBase, max_len: int, texts: Sequence[str]
) -> list[list[int]]:
    """Each text's token ids as the encoder reads it, unpadded (cut at ``max_len``)."""
    enc = tokenizer([encoder_text(t) for t in texts], truncation=True, max_length=max_len)
    return [list(row) for row in enc["input_ids"]]


def encode_texts(
    tokenizer: PreTrainedTokenizerBase, max_len: int, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask (int64 arrays), padded to the longest of ``texts``."""
    return pad(token_rows(tokenizer, max_len, texts), int(tokenizer.pad_token_id or 0))


class Model:
    """Scores chat messages. ``score_batch`` is synchronous and serialised by a lock."""

    def __init__(
        self,
        net: PeerchatNet,
        *,
        lexicon: CrisisLexicon | None = None,
        thresholds: RiskThresholds | None = None,
        quantized: bool = False,
        runner: Runner | None = None,
        runtime: NlpRuntime = NlpRuntime.TORCH_FLOAT32,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        self.net = net.eval()
        self.runner: Runner = runner or TorchRunner(self.net)
        self.runtime = runtime
        self.quantized = quantized or runtime in (NlpRuntime.ONNX_INT8, NlpRuntime.TORCH_INT8)
        self.max_len = net.cfg.max_len
        self.tokenizer = tokenizer or load_tokenizer()
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.lexicon = lexicon or default_lexicon()
        self.thresholds = thresholds or RiskThresholds()
        self._lock = threading.Lock()
        ex = json.loads(EXEMPLARS_PATH.read_text(encoding="utf-8"))
        self._crisis_texts: list[str] = list(ex["crisis"])
        self._benign_texts: list[str] = list(ex["benign_lookalikes"])
        self._emo_idx = [net.cfg.emotions.index(e) for e in REPORTED_EMOTIONS]
        # Embedded by the runner in use, so that messages and references share kernels.
        self._crisis_emb = self.embed(self._crisis_texts)
        self._benign_emb = self.embed(self._benign_texts)
        # Chat-register crisis classifier on the pooled embedding (nlp/crisis_classifier.py).
        self.crisis = CrisisClassifier.load()
        if self.crisis is not None:
            self.crisis.check_encoder(lambda t: self.embed(t).numpy())

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask (int64 arrays), padded to the longest of ``texts``."""
        return encode_texts(self.tokenizer, self.max_len, texts)

    @torch.inference_mode()
    def _forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, ...]:
        return self._run(*self.encode(texts))

    @torch.inference_mode()
    def _run(self, ids: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, ...]:
        emb, sent, emo, clf = self.runner(ids, mask)
        return emb, sent.softmax(-1), emo.sigmoid(), clf.sigmoid()

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised sentence embeddings (rows), for similarity."""
        with self._lock:
            return self._forward(texts)[0] if texts else torch.zeros(0, 384)

    def sentiment_probs(self, texts: Sequence[str]) -> torch.Tensor:
        """Negative/neutral/positive probabilities (rows), for calibration and evaluation."""
        if not texts:
            return torch.zeros(0, 3)
        with self._lock:
            return torch.cat(
                [self._forward(texts[s : s + CHUNK])[1] for s in range(0, len(texts), CHUNK)]
            )

    def score_batch(self, texts: Sequence[str]) -> list[MessageScore]:
        """Score messages; order of results matches ``texts``."""
        if not texts:
            return []
        rows = token_rows(self.tokenizer, self.max_len, texts)
        order = sorted(range(len(texts)), key=lambda i: len(rows[i]))
        runs = plan([len(rows[i]) for i in order], limit=CHUNK)  # similar lengths share a pass
        results: list[MessageScore | None] = [None] * len(texts)
        with self._lock:
            for start, end in runs:
                idx = order[start:end]
                emb, sent, emo, clf = self._run(*pad([rows[i] for i in idx], self.pad_id))
                sim_c = emb @ self._crisis_emb.T
                sim_b = (emb @ self._benign_emb.T).max(1).values
                best_c, best_i = sim_c.max(1)
                for j, i in enumerate(idx):
                    p = sent[j].tolist()
                    sentiment = Sentiment(
                        SENTIMENT_LABELS[max(range(3), key=p.__getitem__)], round(p[2] - p[0], 4)
                    )
                    emotions = {
                        e: round(float(emo[j, k]), 4)
                        for e, k in zip(REPORTED_EMOTIONS, self._emo_idx, strict=True)
                    }
                    sem = SemanticSignals(
                        float(best_c[j]),
                        self._crisis_texts[int(best_i[j])],
                        float(sim_b[j]),
                        float(clf[j]),
                    )
                    lex = self.lexicon.scan(texts[i])
                    score = MessageScore(sentiment, emotions, assess(lex, sem, self.thresholds))
                    if self.crisis is not None:  # may raise the level; see its docstring
                        score = self.crisis.refine(texts[i], emb[j].numpy(), lex, score, p)
                    results[i] = score
        return [r for r in results if r is not None]


def load_model(
    weights_dir: Path | None = None,
    *,
    quantize: bool | None = None,
    threads: int | None = None,
    runtime: NlpRuntime | str | None = None,
) -> Model:
    """Load encoder (installed package) + fine-tuned overlay (nlp/weights), fully offline.

    ``runtime``: how inference runs (``nlp.types.NlpRuntime``); default $PEERCHAT_NLP_RUNTIME,
    else ``auto``: ONNX Runtime int8 where the load-time probe measures it faster than float32 on
    this CPU, float32 otherwise (``nlp.runtime``). ``quantize`` is the older switch, kept for
    callers: True is torch's per-token int8 (``nlp.quantize``), False float32.
    Raises ``nlp.encoder.ModelFilesMissing`` with a clear message when files are missing.
    """
    threads = configure_threads(threads)
    weights_dir = weights_dir or WEIGHTS_DIR
    net = load_net(weights_dir)
    extra = net.cfg.extra
    if runtime is None and quantize is not None:
        runtime = NlpRuntime.TORCH_INT8 if quantize else NlpRuntime.TORCH_FLOAT32
    wanted = NlpRuntime(runtime or os.environ.get("PEERCHAT_NLP_RUNTIME") or NlpRuntime.AUTO)
    if wanted is NlpRuntime.TORCH_INT8:
        quantize_encoder(net, max_rows=CHUNK * net.cfg.max_len)
    th = RiskThresholds(**{**RiskThresholds().__dict__, **extra.get("risk_thresholds", {})})
    if "risk_thresholds" not in extra:
        th = RiskThresholds(**{**th.__dict__, "clf_elevated": net.cfg.crisis_clf_threshold})
    tokenizer = load_tokenizer()
    choice = choose(
        wanted, net, weights_dir, threads, partial(encode_texts, tokenizer, net.cfg.max_len)
    )
    log.info("nlp: inference runs %s", choice.describe())
    return Model(
        net, thresholds=th, runner=choice.runner, runtime=choice.runtime, tokenizer=tokenizer
    )
