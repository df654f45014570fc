"""Shift detector on synthetic conversations: slides and drops fire, steady ones do not.

Scores are sentiment in [-1, 1]; distress (``distress_of``) is what the risk level and the
sadness/fear emotions add, so that a participant whose mood is already low can be seen to get worse.
"""

from __future__ import annotations

import json
import random

import pytest

from nlp.shift import Shift, ShiftDetector, ShiftKind, ShiftSignal, distress_of


def run(scores: list[float], distress: list[float] | None = None) -> list[tuple[int, Shift]]:
    det = ShiftDetector()
    dist = distress or [0.0] * len(scores)
    return [
        (i, s)
        for i, (x, d) in enumerate(zip(scores, dist, strict=True))
        if (s := det.update(x, d)).detected
    ]


def noisy(rng: random.Random, mean: float, n: int, sd: float) -> list[float]:
    return [max(-1.0, min(1.0, rng.gauss(mean, sd))) for _ in range(n)]


def test_drop() -> None:
    rng = random.Random(1)
    hits = run(noisy(rng, 0.5, 10, 0.15) + noisy(rng, -0.7, 5, 0.15))
    assert hits and hits[0][1].kind == "drop" and 10 <= hits[0][0] <= 13
    assert hits[0][1].delta < -0.7 and hits[0][1].signal == ShiftSignal.SENTIMENT


@pytest.mark.parametrize("seed", range(5))
def test_slide(seed: int) -> None:
    rng = random.Random(seed)
    scores = [0.5 - 0.05 * i + rng.gauss(0, 0.1) for i in range(30)]
    hits = run(scores)
    assert hits, "a slide from +0.5 to -1 over 30 messages must be detected"
    assert hits[0][1].kind in ("slide", "drop") and hits[0][1].delta < 0


def test_slow_slide_is_a_slide() -> None:
    rng = random.Random(3)
    hits = run([0.4 - 0.03 * i + rng.gauss(0, 0.1) for i in range(40)])
    assert any(s.kind == "slide" for _, s in hits)


@pytest.mark.parametrize("seed", range(20))
def test_steady_conversations_do_not_trigger(seed: int) -> None:
    rng = random.Random(100 + seed)
    assert not run(noisy(rng, -0.6, 50, 0.2)), "steady negative"
    assert not run(noisy(rng, 0.0, 50, 0.25)), "noisy neutral"
    assert not run(noisy(rng, 0.6, 50, 0.2)), "steady positive"


def test_single_outlier_does_not_trigger() -> None:
    assert not run([0.5] * 10 + [-0.9] + [0.5] * 10)


def test_rebaselines_after_detection() -> None:
    hits = run([0.6] * 10 + [-0.8] * 30)
    assert len(hits) == 1


@pytest.mark.parametrize("seed", range(20))
def test_gradual_slides_are_reported_as_slides(seed: int) -> None:
    """A slide that goes on long enough crosses the quick-worsening threshold too; it is still
    reported by its shape. (Before, every such crossing was reported as a drop.)"""
    rng = random.Random(seed)
    hits = run([0.5 - 0.04 * i + rng.gauss(0, 0.1) for i in range(40)])
    assert hits and hits[0][1].kind == ShiftKind.SLIDE


def test_a_slide_that_crosses_the_drop_threshold_is_a_slide() -> None:
    # Noise-free: 0.6 down by 0.1 a message. The fast EWMA trails by ~1.5 steps and the baseline
    # by ~19, so fast - baseline passes -0.7 (at the 13th message) before the CUSUM confirms a
    # slide; but only a third of that distance was covered in the last three messages.
    hits = run([0.6 - 0.1 * i for i in range(16)])
    assert hits and hits[0][0] == 12 and hits[0][1].delta <= -0.7
    assert hits[0][1].kind == ShiftKind.SLIDE


def sad(rng: random.Random, n: int) -> tuple[list[float], list[float]]:
    """Low mood, no risk language: sentiment around -0.75, sadness around 0.6."""
    return (
        noisy(rng, -0.75, n, 0.2),
        [
            distress_of("none", {"sadness": min(1.0, max(0.0, rng.gauss(0.6, 0.25)))})
            for _ in range(n)
        ],
    )


def test_no_sentiment_drop_can_fire_from_a_low_baseline() -> None:
    """The arithmetic behind the distress signal: sentiment alone cannot show this person worse."""
    assert not run([-0.5] * 10 + [-1.0] * 20)


@pytest.mark.parametrize("seed", range(10))
def test_low_baseline_turning_to_crisis_language_is_seen(seed: int) -> None:
    rng = random.Random(seed)
    scores, dist = sad(rng, 12)
    scores += [-0.95, -0.97, -0.9]
    dist += [distress_of("crisis"), distress_of("crisis"), distress_of("elevated")]
    hits = run(scores, dist)
    assert hits and hits[0][0] == 13, "two crisis messages in a row after low mood"
    shift = hits[0][1]
    assert shift.kind == ShiftKind.DROP and shift.signal == ShiftSignal.DISTRESS
    assert shift.distress >= 0.45 and shift.delta > -0.7


@pytest.mark.parametrize("seed", range(10))
def test_low_baseline_turning_to_elevated_risk_is_a_slide(seed: int) -> None:
    rng = random.Random(seed)
    scores, dist = sad(rng, 12)
    scores += noisy(rng, -0.95, 15, 0.05)
    dist += [distress_of("elevated", {"sadness": rng.random()}) for _ in range(15)]
    hits = run(scores, dist)
    assert hits and 12 < hits[0][0] <= 12 + 10
    assert hits[0][1].kind == ShiftKind.SLIDE and hits[0][1].signal == ShiftSignal.DISTRESS


@pytest.mark.parametrize("seed", range(20))
def test_steadily_sad_with_some_elevated_messages_does_not_trigger(seed: int) -> None:
    rng = random.Random(200 + seed)
    scores, dist = sad(rng, 50)
    for i in range(50):
        if rng.random() < 0.15:
            scores[i], dist[i] = -0.95, distress_of("elevated")
    assert not run(scores, dist)


def test_steadily_elevated_does_not_trigger() -> None:
    assert not run([-0.9] * 50, [distress_of("elevated")] * 50)


def test_one_crisis_message_is_not_a_shift() -> None:
    """It raises its own crisis alert; a shift needs a change that lasts beyond one message."""
    assert not run([0.3] * 10 + [-0.9] + [0.3] * 10, [0.0] * 10 + [1.0] + [0.0] * 10)


def test_distress_of() -> None:
    assert distress_of("none") == 0.0
    assert distress_of("elevated") == 0.5 and distress_of("crisis") == 1.0
    assert distress_of("none", {"sadness": 1.0, "fear": 0.2}) == pytest.approx(0.3)
    assert distress_of("none", {"fear": 0.5, "joy": 1.0}) == pytest.approx(0.15)
    assert distress_of("elevated", {"sadness": 1.0}) == 0.5  # emotions never exceed a risk level
    assert distress_of("unknown-level") == 0.0


def test_state_round_trip_is_json_safe() -> None:
    rng = random.Random(7)
    scores = noisy(rng, 0.4, 8, 0.1) + noisy(rng, -0.7, 6, 0.1)
    dist = [0.0] * 8 + [0.5, 1.0, 0.5, 1.0, 0.5, 1.0]
    a = ShiftDetector()
    for x, d in zip(scores[:8], dist[:8], strict=True):
        a.update(x, d)
    b = ShiftDetector.from_state(json.loads(json.dumps(a.to_state())))
    rest = list(zip(scores[8:], dist[8:], strict=True))
    assert [a.update(x, d) for x, d in rest] == [b.update(x, d) for x, d in rest]


def test_unknown_state_version_starts_fresh() -> None:
    det = ShiftDetector.from_state({"v": 999})
    assert det.to_state()["mood"]["n"] == 0
