"""A small crisis classifier for the chat register, beside the lexicon.

Why: the lexicon (nlp/lexicon) is precise and reviewable, but it can only list phrases somebody
thought of. People in crisis say "picked the spot. saturday", "told her she can keep my hoodies"
or "i will stop my life tonight, is decided": no listed phrase, yet plainly a crisis. This module
reads the sentence embedding the network already computes for every message (384 numbers, no
extra encoder pass) plus a few cheap text cues, and gives three probabilities: none, elevated,
crisis. It can raise a message's level; it never lowers a lexicon rating, except that a crisis
phrase said with a joke marker ("this quiz wants me to unalive myself lol") is held at
``elevated`` unless the classifier, too, reads it as a crisis.

Serving needs numpy and the committed weights file only (nlp/weights/crisis-classifier.safetensors,
a few hundred KB); training (``python -m nlp.training.crisis_train``) uses scikit-learn and is
dev-only.
The weights were fitted on embeddings of one encoder: the file holds a few probe sentences and
their embeddings, and a model whose encoder embeds them differently (retrained or replaced
encoder) turns the classifier off with an error in the log instead of scoring with garbage.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file

from nlp.crisis_lexicon import LexiconResult, normalise
from nlp.types import MessageScore, Risk, Sentiment

log = logging.getLogger(__name__)

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "crisis-classifier.safetensors"
LEVELS = ("none", "elevated", "crisis")
_ORDER = {lv: i for i, lv in enumerate(LEVELS)}
PROBE_MIN_COSINE = 0.95
"""Probe sentences must embed this close to training time (int8 vs float32 measured ~0.99)."""

# Cheap cues, matched on the lexicon's normalised text (lower case, apostrophes dropped).
_HUMOUR = re.compile(r"(?<!\w)(?:lol+|lmf?ao+|rofl|haha\w*|jk|xd|/j)(?!\w)|😂|🤣|💀|😆|🙃")
_FAREWELL = re.compile(
    r"(?<!\w)(?:bye|goodbye|good bye|farewell|signing off|last message|last time|"
    r"thank(?:s| you) for everything|take care of (?:yourself|urself|each other|my)|"
    r"look after each other|tell my \w+|sorry for everything|see you on the other side|"
    r"goodnight forever|final goodbye|this is goodbye|im going now|wont be around|"
    r"wont need (?:it|them|help|any)|after (?:im gone|tonight|today))(?!\w)"
)
_FUTURE = re.compile(
    r"(?<!\w)(?:tomorrow|tmrw|tmr|next (?:week|time|month|year)|later|see (?:you|u|ya)|"
    r"talk (?:soon|tomorrow|later)|cya|ttyl|tonight after|in the morning|weekend)(?!\w)"
)
# Not a classifier feature (its weights were fit with "future" alone): it widens "a time to come
# back" for the finality rules, so that "bye for now" or "ill check in after my shift" closes an
# ordinary chat instead of paging after distress. "i wont be back" must not match: hence "ill be".
_COMING_BACK = re.compile(
    r"(?<!\w)(?:for now|for (?:the night|today|tonight)|(?:ill|i will|will) (?:check in|be back)|"
    r"be back (?:soon|later|in)|brb|speak soon|(?:until|till|til) next|"
    r"after (?:my|the) (?:shift|work|school|class|lesson|dinner|tea|exam))(?!\w)"
)
# ... and what rules coming back out, whatever else the goodbye says: "see you on the other
# side" names no time to come back, though "see you" usually does.
_NO_RETURN = re.compile(
    r"(?<!\w)(?:see (?:you|u|ya) on the other side(?! of)|forever|for good|for real|"
    r"(?:for the|one) last time|this is goodbye|final goodbye|"
    r"(?:wont|not|never) (?:be|coming) back)(?!\w)"
)
_FIRST_PERSON = re.compile(r"(?<!\w)(?:i|im|ive|id|ill|me|my|myself|mine)(?!\w)")

FEATURES = (
    "lexicon_crisis",
    "lexicon_elevated",
    "lexicon_past",
    "lexicon_negated",
    "lexicon_idiom",
    "humour",
    "farewell",
    "future",
    "first_person",
    "question",
)


def text_cues(text: str, lex: LexiconResult) -> dict[str, bool]:
    """The cheap text cues, by name: the classifier's ``FEATURES`` and the finality cue."""
    norm = normalise(text)
    live = [h for h in lex.hits if not h.past]
    farewell, future = bool(_FAREWELL.search(norm)), bool(_FUTURE.search(norm))
    return {
        "lexicon_crisis": any(h.level == "crisis" for h in live),
        "lexicon_elevated": any(h.level == "elevated" for h in live),
        "lexicon_past": any(h.past for h in lex.hits),
        "lexicon_negated": bool(lex.negated),
        "lexicon_idiom": bool(lex.idioms),
        "humour": bool(_HUMOUR.search(text.lower())),
        "farewell": farewell,
        "future": future,
        "final_goodbye": _final_goodbye(norm, farewell, future),
        "first_person": bool(_FIRST_PERSON.search(norm)),
        "question": "?" in text,
    }


def is_final_goodbye(text: str) -> bool:
    """The ``final_goodbye`` cue alone, without a lexicon scan: the conversation rule asks it of
    every participant message, on the event loop."""
    norm = normalise(text)
    return _final_goodbye(norm, bool(_FAREWELL.search(norm)), bool(_FUTURE.search(norm)))


def _final_goodbye(norm: str, farewell: bool, future: bool) -> bool:
    """A goodbye that names no time to come back ("see you tomorrow", "bye for now"), or that
    rules coming back out whatever else it says ("see you on the other side")."""
    if not farewell:
        return False
    if _NO_RETURN.search(norm):
        return True
    return not (future or _COMING_BACK.search(norm))


def feature_row(text: str, lex: LexiconResult, cues: dict[str, bool] | None = None) -> np.ndarray:
    cues = cues or text_cues(text, lex)
    return np.array([float(cues[f]) for f in FEATURES], dtype=np.float32)


# What staff read when the classifier (not a listed phrase) raised the level, by the kind of
# message the text is nearest to. Plain words; never a reference sentence.
KIND_REASONS: dict[str, str] = {
    "goodbye_finality": "sounds like a goodbye or a final message",
    "giving_away": "talks about giving their belongings away",
    "plan_no_method": "talks about a chosen time or place, like a plan",
    "lethal_dose": "asks how much medication would be dangerous",
    "danger_from_others": "may be in danger from someone right now",
    "harm_to_others": "talks about hurting someone else",
    "someone_else_in_danger": "says someone else may be in danger right now",
    "self_harm_now": "talks about hurting themself now",
    "passive_ideation": "talks about not wanting to be alive",
    "hopeless_means": "talks about hopelessness and having a way to die within reach",
    "explicit_ideation": "talks about wanting to die or end their life",
    "attempt_in_progress": "may already have started to harm themself",
    "hopelessness": "sounds hopeless or in intense distress",
    "indirect_warning": "hints that something final is about to happen",
    "preparations": "talks about putting their affairs in order",
    "sudden_calm": "sounds suddenly calm, as if they have decided something final",
    "rehearsal": "talks about testing or looking into a way to die",
    "deadline": "sets a date or condition after which they will not go on",
    "algospeak": "uses coded words for suicide or self-harm",
    "burden": "says others would be better off without them",
    "intoxicated_danger": "is drunk or high and may be in danger now",
}
GENERIC_REASON = {
    "crisis": "reads as a crisis message, though it uses no listed crisis phrase",
    "elevated": "reads as a message from someone in distress",
}


@dataclass(frozen=True)
class Verdict:
    """What the classifier says about one message."""

    level: str
    probs: tuple[float, float, float]  # none, elevated, crisis
    kind: str | None  # nearest written-down kind of crisis message, when close enough
    kind_similarity: float


class CrisisClassifier:
    """Two-layer perceptrons over [embedding, text cues], their probabilities averaged; numpy
    only, thread-safe (no state).

    Several members, each trained from another seed on the same data: one perceptron's verdict
    on a kind of message it never saw swings with its seed, and the average of a few is steadier
    (see the model card's leave-one-kind-out table). Weights are stacked on a leading member
    axis; a file with one unstacked perceptron loads as one member."""

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        def members(name: str, ndim: int) -> np.ndarray:
            t = tensors[name].astype(np.float32)
            return t[None] if t.ndim == ndim else t

        self.w1 = members("w1", 2)  # [members, inputs, hidden]
        self.b1 = members("b1", 1)  # [members, hidden]
        self.w2 = members("w2", 2)  # [members, hidden, 3]
        self.b2 = members("b2", 1)  # [members, 3]
        self.mean = tensors["mean"].astype(np.float32)
        self.scale = tensors["scale"].astype(np.float32)
        self.kind_centroids = tensors["kind_centroids"].astype(np.float32)
        self.probe_embeddings = tensors["probe_embeddings"].astype(np.float32)
        self.kinds: list[str] = list(meta["kinds"])
        self.probes: list[str] = list(meta["probes"])
        self.crisis_threshold = float(meta["crisis_threshold"])
        self.elevated_threshold = float(meta["elevated_threshold"])
        self.kind_min_similarity = float(meta.get("kind_min_similarity", 0.35))
        self.features: list[str] = list(meta["features"])
        if tuple(self.features) != FEATURES:
            raise ValueError("crisis classifier weights were trained with other text cues")
        self.meta = meta
        self.enabled = True

    # ---- persistence ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> CrisisClassifier | None:
        """The committed classifier, or None (logged) when the file is missing or unreadable."""
        if not path.is_file():
            log.error("crisis classifier weights not found at %s; lexicon only", path)
            return None
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("peerchat", "{}"))
        return cls(load_file(str(path)), meta)

    def check_encoder(self, embed: Callable[[list[str]], np.ndarray]) -> bool:
        """Turn off (with an error in the log) when the encoder is not the one trained on."""
        got = embed(self.probes)
        cos = float(np.min(np.sum(got * self.probe_embeddings, axis=1)))
        if cos < PROBE_MIN_COSINE:
            log.error(
                "crisis classifier disabled: the encoder's embeddings changed since it was "
                "trained (probe cosine %.3f < %.2f); retrain it with "
                "`python -m nlp.training.crisis_train`",
                cos,
                PROBE_MIN_COSINE,
            )
            self.enabled = False
        return self.enabled

    # ---- inference -----------------------------------------------------------------------
    def probabilities(self, emb: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """[B, 3] probabilities (none, elevated, crisis) for embeddings [B, 384] and cues."""
        x = (np.concatenate([emb, feats], axis=1) - self.mean) / self.scale
        h = np.maximum(np.matmul(x, self.w1) + self.b1[:, None, :], 0.0)  # [members, B, hidden]
        z = np.matmul(h, self.w2) + self.b2[:, None, :]
        z = z - z.max(axis=2, keepdims=True)
        e = np.exp(z)
        out: np.ndarray = (e / e.sum(axis=2, keepdims=True)).mean(axis=0)
        return out

    def decide(self, probs: np.ndarray) -> str:
        if probs[2] >= self.crisis_threshold:
            return "crisis"
        if probs[1] + probs[2] >= self.elevated_threshold:
            return "elevated"
        return "none"

    def verdict(
        self, text: str, emb: np.ndarray, lex: LexiconResult, cues: dict[str, bool] | None = None
    ) -> Verdict:
        e = np.asarray(emb, dtype=np.float32).reshape(1, -1)
        p = self.probabilities(e, feature_row(text, lex, cues)[None, :])[0]
        sims = self.kind_centroids @ e[0]
        k = int(np.argmax(sims))
        kind = self.kinds[k] if sims[k] >= self.kind_min_similarity else None
        return Verdict(
            self.decide(p), (float(p[0]), float(p[1]), float(p[2])), kind, float(sims[k])
        )

    def refine(
        self,
        text: str,
        emb: Any,
        lex: LexiconResult,
        base: MessageScore,
        sentiment_probs: Sequence[float] | None = None,
    ) -> MessageScore:
        """The model's hook: the lexicon-and-similarity score, raised (or a joke held back) by
        the classifier; a goodbye without a time to come back never reads as positive."""
        if not self.enabled:
            return base
        cues = text_cues(text, lex)
        v = self.verdict(text, np.asarray(emb, dtype=np.float32), lex, cues)
        return combine(text, lex, base, v, sentiment_probs, cues)


def combine(
    text: str,
    lex: LexiconResult,
    base: MessageScore,
    v: Verdict,
    sentiment_probs: Sequence[float] | None = None,
    cues: dict[str, bool] | None = None,
) -> MessageScore:
    """Merge a classifier verdict into a score (pure, so rules are testable without weights).

    - The lexicon explained a risk word away (negation or idiom, and nothing left): the
      classifier is not consulted, as with the other embedding signals (nlp/risk.py).
    - The lexicon put the message in the past: the classifier can raise it to elevated only.
    - A crisis phrase with a joke marker ("lol", "💀") that the classifier does not read as a
      crisis is held at elevated: staff still see it, nobody is paged for a quiz.
    """
    risk = base.risk
    cues = cues or text_cues(text, lex)
    explained_away = not lex.hits and (lex.idioms or lex.negated)
    level, reasons, evidence = risk.level, list(risk.reasons), list(risk.evidence)
    if not explained_away:
        cap = "elevated" if cues["lexicon_past"] and not cues["lexicon_crisis"] else "crisis"
        clf = v.level if _ORDER[v.level] <= _ORDER[cap] else cap
        if _ORDER[clf] > _ORDER[level]:
            level = clf
            # The nearest kind names a crisis; an elevated reading gets the generic words.
            kind_words = KIND_REASONS.get(v.kind or "") if clf == "crisis" else None
            reasons.append(kind_words or GENERIC_REASON[clf])
        if level == "crisis" and cues["humour"] and v.level != "crisis" and not cues["farewell"]:
            level = "elevated"
            reasons.append("crisis words said as a joke (held at elevated for a person to judge)")
    evidence.append(
        {
            "source": "crisis_classifier",
            "level": v.level,
            "p_none": round(v.probs[0], 3),
            "p_elevated": round(v.probs[1], 3),
            "p_crisis": round(v.probs[2], 3),
            "nearest_kind": v.kind,
            "kind_similarity": round(v.kind_similarity, 3),
        }
    )
    if level == "none":
        reasons, evidence = [], []
    sentiment = base.sentiment
    # Finality: a goodbye that names no time to come back ("signing off for good") is never
    # positive, whatever its level; "bye, see you tomorrow" keeps its sentiment.
    if level == "crisis" or cues["final_goodbye"]:
        sentiment = not_positive(sentiment, sentiment_probs)
    return replace(base, sentiment=sentiment, risk=Risk(level, tuple(reasons), tuple(evidence)))


def not_positive(sentiment: Sentiment, probs: Sequence[float] | None) -> Sentiment:
    """A goodbye or a crisis message is never positive, however warm its words ("thank you for
    everything"): the positive reading is the wrong one, so its probability counts as negative."""
    if probs is None:
        if sentiment.label != "positive" and sentiment.score <= 0:
            return sentiment
        return Sentiment("negative", round(-abs(sentiment.score), 4))
    neg, neu, pos = (float(x) for x in probs)
    neg += pos
    label = "negative" if neg >= neu else "neutral"
    return Sentiment(label, round(-neg, 4))
