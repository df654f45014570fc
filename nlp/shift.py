"""Emotional-shift detection on one participant's per-message sentiment scores.

Two detectors run on the score sequence (scores in [-1, 1], e.g. P(pos) - P(neg)):

* **drop** (a sudden switch): a fast EWMA of the scores falls far below the participant's slow
  baseline EWMA. One very negative message moves the fast EWMA by only ``FAST_ALPHA`` of the gap,
  so a single outlier does not fire; two or three negative messages in a row do.
* **slide** (slow escalation): a one-sided lower CUSUM of (baseline - score - CUSUM_SLACK)
  accumulates small but persistent shortfalls that the drop rule misses. It also needs a medium
  EWMA (``MID_ALPHA``, smoother than the fast one) to have moved at least ``SLIDE_MIN_DELTA``
  below baseline, so that noise which merely accumulates in the CUSUM cannot fire it alone.

A participant who is steadily negative does not trigger: the baseline is *their* level, not a
global one. After a detection the detector re-baselines at the new level (the shift has been
reported; it should not be reported again on every following message).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# Thresholds. Scores are in [-1, 1]; the sentiment model's scores for neutral chat scatter with a
# standard deviation of roughly 0.2-0.3, and a clear switch (positive -> negative) is a change of
# about 1.0 or more.
WARMUP = 3  # first messages only set the baseline (as a running mean); no detection yet
FAST_ALPHA = 0.4  # fast EWMA: ~2-3 messages of memory
BASE_ALPHA = 0.05  # baseline EWMA: ~20 messages of memory, so it trails a slide
DROP_DELTA = 0.7  # fast - baseline <= -0.7: e.g. baseline +0.5, then two messages at -0.8
MID_ALPHA = 0.2  # medium EWMA used to confirm a slide: ~5-10 messages of memory
CUSUM_SLACK = 0.25  # k: shortfalls below 0.25 per message are treated as noise
CUSUM_LIMIT = 2.5  # h: e.g. ~8 messages each 0.55 below baseline
SLIDE_MIN_DELTA = 0.35  # the (medium-smoothed) level itself must also have moved for a slide
# Checked on synthetic conversations (tests/nlp/test_shift.py): steady-negative, noisy-neutral
# (sd 0.3-0.4) and mixed chatter with occasional very negative messages do not fire within 50
# messages, while a 1.0 slide over 20-40 messages and a drop of ~1.2 do.
STATE_VERSION = 1


@dataclass(frozen=True)
class Shift:
    """Outcome of one update. ``delta`` is fast EWMA minus baseline (negative = worse mood)."""

    detected: bool
    kind: Literal["drop", "slide"] | None
    delta: float


@dataclass
class _State:
    n: int = 0
    baseline: float = 0.0
    fast: float = 0.0
    mid: float = 0.0
    cusum: float = 0.0


class ShiftDetector:
    """Stateful per-participant detector; serialise with ``to_state``/``from_state``."""

    def __init__(self) -> None:
        self._s = _State()

    def update(self, score: float) -> Shift:
        x = max(-1.0, min(1.0, float(score)))
        s = self._s
        s.n += 1
        if s.n <= WARMUP:
            s.baseline += (x - s.baseline) / s.n
            s.fast = s.baseline if s.n < WARMUP else s.fast + FAST_ALPHA * (x - s.fast)
            if s.n == 1:
                s.fast = x
            s.mid = s.fast
            return Shift(False, None, s.fast - s.baseline)
        s.cusum = max(0.0, s.cusum + (s.baseline - x) - CUSUM_SLACK)
        s.fast += FAST_ALPHA * (x - s.fast)
        s.mid += MID_ALPHA * (x - s.mid)
        delta = s.fast - s.baseline
        kind: Literal["drop", "slide"] | None = None
        if delta <= -DROP_DELTA:
            kind = "drop"
        elif s.cusum >= CUSUM_LIMIT and s.mid - s.baseline <= -SLIDE_MIN_DELTA:
            kind = "slide"
        if kind is not None:
            s.baseline, s.mid, s.cusum = s.fast, s.fast, 0.0  # re-baseline at the new level
        else:
            s.baseline += BASE_ALPHA * (x - s.baseline)
        return Shift(kind is not None, kind, delta)

    @property
    def baseline(self) -> float:
        return self._s.baseline

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state, e.g. for a per-participant DB column."""
        return {"v": STATE_VERSION, **asdict(self._s)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ShiftDetector:
        """Restore from ``to_state`` output; an unknown version starts afresh (safe default)."""
        det = cls()
        if state.get("v") == STATE_VERSION:
            det._s = _State(
                n=int(state["n"]),
                baseline=float(state["baseline"]),
                fast=float(state["fast"]),
                mid=float(state["mid"]),
                cusum=float(state["cusum"]),
            )
        return det
