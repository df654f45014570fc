"""Emotional-shift detection on one participant's messages: is this person getting worse?

Two signals are tracked per message, each against the participant's *own* baseline:

* **sentiment**, the score in [-1, 1] (P(pos) - P(neg)). Worse = lower.
* **distress**, in [0, 1], from the message's crisis-risk level and its sadness/fear emotions
  (``distress_of``). Worse = higher. Sentiment alone cannot show a low-mood participant getting
  worse: it saturates near -1, so from a baseline below about -0.3 no fall of 0.7 is left to
  see. Distress still can: a sad participant whose messages turn to elevated or crisis risk.

Each signal runs the same two rules, oriented so that a rise means worse:

* a **quick worsening**: a fast EWMA of the signal moves far past the slow baseline EWMA. One
  extreme message moves the fast EWMA by only ``FAST_ALPHA`` of the gap, so a single outlier does
  not fire; two or three in a row do.
* a **persistent worsening**: a one-sided CUSUM of (signal - baseline - slack) accumulates small
  but steady shortfalls the first rule misses. It also needs a medium EWMA (``MID_ALPHA``) to
  have moved at least ``slide_min`` past baseline, so noise that merely accumulates cannot fire.

Whichever rule fired, the shift is *reported by its shape*: a **drop** when at least
``DROP_SHARE`` of the distance from baseline was covered in the last ``RECENT`` messages (a
sudden change), a **slide** otherwise (a slow escalation). A slide that finally crosses the
quick-worsening threshold is still a slide.

A participant who is steadily negative or steadily distressed does not trigger: the baseline is
*their* level, not a global one. After a detection both signals re-baseline at the new level
(the shift has been reported; it should not be reported again on every following message).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ShiftKind(StrEnum):
    """How the participant got worse: suddenly (drop) or gradually (slide)."""

    DROP = "drop"
    SLIDE = "slide"


class ShiftSignal(StrEnum):
    """What showed it: the sentiment score fell, distress (risk, sadness, fear) rose, or both."""

    SENTIMENT = "sentiment"
    DISTRESS = "distress"
    BOTH = "both"


WARMUP = 3  # first messages only set the baseline (as a running mean); no detection yet
FAST_ALPHA = 0.4  # fast EWMA: ~2-3 messages of memory
BASE_ALPHA = 0.05  # baseline EWMA: ~20 messages of memory, so it trails a slide
MID_ALPHA = 0.2  # medium EWMA used to confirm a persistent worsening: ~5-10 messages of memory
RECENT = 3  # a drop covered at least DROP_SHARE of its distance within this many messages
DROP_SHARE = 0.5
# Distress of one message: its risk level, or sadness/fear (weighted below any risk level).
RISK_DISTRESS = {"none": 0.0, "elevated": 0.5, "crisis": 1.0}
EMOTION_DISTRESS_WEIGHT = 0.3
DISTRESS_EMOTIONS = ("sadness", "fear")
STATE_VERSION = 2


@dataclass(frozen=True)
class TrackParams:
    """Thresholds for one signal, in that signal's units (worse = higher)."""

    rise: float  # fast - baseline >= rise: quick worsening
    slack: float  # CUSUM k: shortfalls below this per message are noise
    limit: float  # CUSUM h
    slide_min: float  # medium EWMA - baseline >= this to confirm a persistent worsening
    low: float  # values are clamped to [low, high]
    high: float


# Sentiment (negated: worse = higher). Scores of neutral chat scatter with a standard deviation
# of roughly 0.2-0.3; a clear switch (positive -> negative) is a change of about 1.0 or more.
# e.g. baseline +0.5, then two messages at -0.8 is a drop; ~8 messages each 0.55 below baseline
# a slide.
SENTIMENT = TrackParams(rise=0.7, slack=0.25, limit=2.5, slide_min=0.35, low=-1.0, high=1.0)
# Distress. A single crisis message from a calm baseline moves the fast EWMA by 0.4 (no shift:
# it raises its own crisis alert); two in a row, or elevated messages where there were none,
# are a shift. Plain sadness (at most 0.3) never reaches the level of one elevated message; a
# sad participant (sentiment near -0.75) whose messages all turn elevated is seen as a slide after
# about 6 of them (synthetic: 49 of 50 within 15), two crisis messages in a row as a drop.
DISTRESS = TrackParams(rise=0.45, slack=0.1, limit=1.2, slide_min=0.12, low=0.0, high=1.0)
# Checked on synthetic conversations (tests/nlp/test_shift.py): steady negative, steadily sad
# with occasional elevated messages, noisy neutral (sd 0.3-0.4) and mixed chatter with occasional
# very negative messages do not fire within 50 messages, while a 1.0 slide over 20-40 messages,
# a drop of ~1.2, and a low-mood participant turning to risk language do.


def distress_of(risk_level: str, emotions: Mapping[str, float] | None = None) -> float:
    """One message's distress in [0, 1]: its risk level, or sadness/fear if that is higher."""
    emo = max((float((emotions or {}).get(e, 0.0)) for e in DISTRESS_EMOTIONS), default=0.0)
    return max(RISK_DISTRESS.get(risk_level, 0.0), EMOTION_DISTRESS_WEIGHT * min(1.0, emo))


@dataclass(frozen=True)
class Shift:
    """Outcome of one update.

    ``delta``: sentiment fast EWMA minus baseline (negative = worse mood). ``distress``: distress
    fast EWMA minus baseline (positive = more distress). ``signal``: what fired, when detected.
    """

    detected: bool
    kind: ShiftKind | None
    delta: float
    signal: ShiftSignal | None = None
    distress: float = 0.0


@dataclass
class _Track:
    n: int = 0
    baseline: float = 0.0
    fast: float = 0.0
    mid: float = 0.0
    cusum: float = 0.0
    recent: list[float] = field(default_factory=list)  # fast EWMA after each recent message

    def update(self, x: float, p: TrackParams) -> tuple[bool, bool]:
        """Add one value (worse = higher); return (worsened, suddenly)."""
        x = max(p.low, min(p.high, x))
        self.n += 1
        if self.n <= WARMUP:
            self.baseline += (x - self.baseline) / self.n
            self.fast = x if self.n == 1 else self.fast + FAST_ALPHA * (x - self.fast)
            if self.n < WARMUP:
                self.fast = self.baseline
            self.mid = self.fast
            return False, False
        self.cusum = max(0.0, self.cusum + (x - self.baseline) - p.slack)
        before = self.recent[0] if len(self.recent) >= RECENT else self.baseline
        self.fast += FAST_ALPHA * (x - self.fast)
        self.mid += MID_ALPHA * (x - self.mid)
        self.recent = [*self.recent, self.fast][-RECENT:]
        gap = self.fast - self.baseline
        worse = gap >= p.rise or (self.cusum >= p.limit and self.mid - self.baseline >= p.slide_min)
        if not worse:
            self.baseline += BASE_ALPHA * (x - self.baseline)
        return worse, worse and self.fast - before >= DROP_SHARE * gap

    @property
    def gap(self) -> float:
        return self.fast - self.baseline

    def rebaseline(self) -> None:
        self.baseline, self.mid, self.cusum, self.recent = self.fast, self.fast, 0.0, []

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "baseline": self.baseline,
            "fast": self.fast,
            "mid": self.mid,
            "cusum": self.cusum,
            "recent": list(self.recent),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> _Track:
        return cls(
            n=int(d["n"]),
            baseline=float(d["baseline"]),
            fast=float(d["fast"]),
            mid=float(d["mid"]),
            cusum=float(d["cusum"]),
            recent=[float(v) for v in d.get("recent", [])][-RECENT:],
        )


class ShiftDetector:
    """Stateful per-participant detector; serialise with ``to_state``/``from_state``."""

    def __init__(self) -> None:
        self._mood = _Track()  # negated sentiment: worse = higher
        self._distress = _Track()

    def update(self, score: float, distress: float = 0.0) -> Shift:
        """One message: its sentiment score and its distress (``distress_of``)."""
        mood_worse, mood_sudden = self._mood.update(-float(score), SENTIMENT)
        dist_worse, dist_sudden = self._distress.update(float(distress), DISTRESS)
        delta, dist_gap = -self._mood.gap, self._distress.gap
        if not (mood_worse or dist_worse):
            return Shift(False, None, delta, None, dist_gap)
        signal = (
            ShiftSignal.BOTH
            if mood_worse and dist_worse
            else ShiftSignal.SENTIMENT
            if mood_worse
            else ShiftSignal.DISTRESS
        )
        sudden = (mood_worse and mood_sudden) or (dist_worse and dist_sudden)
        self._mood.rebaseline()
        self._distress.rebaseline()
        return Shift(True, ShiftKind.DROP if sudden else ShiftKind.SLIDE, delta, signal, dist_gap)

    @property
    def baseline(self) -> float:
        """The participant's sentiment baseline."""
        return -self._mood.baseline

    @property
    def distress_baseline(self) -> float:
        return self._distress.baseline

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state, e.g. for a per-participant DB column."""
        return {
            "v": STATE_VERSION,
            "mood": self._mood.to_json(),
            "distress": self._distress.to_json(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ShiftDetector:
        """Restore from ``to_state`` output; an unknown version starts afresh (safe default)."""
        det = cls()
        if state.get("v") == STATE_VERSION:
            det._mood = _Track.from_json(state["mood"])
            det._distress = _Track.from_json(state["distress"])
        return det
