"""The scoring model: encoder + heads + crisis rules, behind one synchronous ``score_batch``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import torch

from nlp.crisis_classifier import CrisisClassifier
from nlp.crisis_lexicon import CrisisLexicon, default_lexicon
from nlp.encoder import load_tokenizer
from nlp.network import WEIGHTS_DIR, PeerchatNet, load_net
from nlp.quantize import quantize_encoder
from nlp.risk import RiskThresholds, SemanticSignals, assess
from nlp.text import encoder_text
from nlp.types import SENTIMENT_LABELS, MessageScore, Sentiment

EXEMPLARS_PATH = Path(__file__).resolve().parent / "lexicon" / "exemplars.json"
CHUNK = 64  # texts per forward pass; larger batches are split (memory, latency)
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


class Model:
    """Scores chat messages. ``score_batch`` is synchronous and serialised by a lock."""

    def __init__(
        self,
        net: PeerchatNet,
        *,
        lexicon: CrisisLexicon | None = None,
        thresholds: RiskThresholds | None = None,
        quantized: bool = False,
    ) -> None:
        self.net = net.eval()
        self.quantized = quantized
        self.max_len = net.cfg.max_len
        self.tokenizer = load_tokenizer()
        self.lexicon = lexicon or default_lexicon()
        self.thresholds = thresholds or RiskThresholds()
        self._lock = threading.Lock()
        ex = json.loads(EXEMPLARS_PATH.read_text(encoding="utf-8"))
        self._crisis_texts: list[str] = list(ex["crisis"])
        self._crisis_emb = self.embed(self._crisis_texts)
        self._benign_emb = self.embed(list(ex["benign_lookalikes"]))
        self._emo_idx = [net.cfg.emotions.index(e) for e in REPORTED_EMOTIONS]
        # Chat-register crisis classifier on the pooled embedding (nlp/crisis_classifier.py).
        self.crisis = CrisisClassifier.load()
        if self.crisis is not None:
            self.crisis.check_encoder(lambda t: self.embed(t).numpy())

    @torch.inference_mode()
    def _forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, ...]:
        enc = self.tokenizer(
            [encoder_text(t) for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_len,
            return_tensors="pt",
        )
        out = self.net(enc["input_ids"], enc["attention_mask"])
        return (
            out.embedding,
            out.sentiment_logits.softmax(-1),
            out.emotion_logits.sigmoid(),
            out.crisis_logit.sigmoid(),
        )

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
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per chunk
        results: list[MessageScore | None] = [None] * len(texts)
        with self._lock:
            for start in range(0, len(order), CHUNK):
                idx = order[start : start + CHUNK]
                emb, sent, emo, clf = self._forward([texts[i] for i in idx])
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
    weights_dir: Path | None = None, *, quantize: bool | None = None, threads: int | None = None
) -> Model:
    """Load encoder (installed package) + fine-tuned overlay (nlp/weights), fully offline.

    ``quantize``: int8 for the encoder's Linear layers (``nlp.quantize``); default from the
    weights' config (the choice measured in docs/model-card.md), or $PEERCHAT_NLP_QUANTIZE=0/1.
    Raises ``nlp.encoder.ModelFilesMissing`` with a clear message when files are missing.
    """
    configure_threads(threads)
    net = load_net(weights_dir or WEIGHTS_DIR)
    extra = net.cfg.extra
    if quantize is None:
        env = os.environ.get("PEERCHAT_NLP_QUANTIZE")
        quantize = env == "1" if env in ("0", "1") else bool(extra.get("quantize", False))
    if quantize:
        quantize_encoder(net, max_rows=CHUNK * net.cfg.max_len)
    th = RiskThresholds(**{**RiskThresholds().__dict__, **extra.get("risk_thresholds", {})})
    if "risk_thresholds" not in extra:
        th = RiskThresholds(**{**th.__dict__, "clf_elevated": net.cfg.crisis_clf_threshold})
    return Model(net, thresholds=th, quantized=quantize)
