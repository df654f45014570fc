"""Shift detector on synthetic conversations: slides and drops fire, steady ones do not."""

from __future__ import annotations

import json
import random

import pytest

from nlp.shift import Shift, ShiftDetector


def run(scores: list[float]) -> list[tuple[int, Shift]]:
    det = ShiftDetector()
    return [(i, s) for i, x in enumerate(scores) if (s := det.update(x)).detected]


def noisy(rng: random.Random, mean: float, n: int, sd: float) -> list[float]:
    return [max(-1.0, min(1.0, rng.gauss(mean, sd))) for _ in range(n)]


def test_drop() -> None:
    rng = random.Random(1)
    hits = run(noisy(rng, 0.5, 10, 0.15) + noisy(rng, -0.7, 5, 0.15))
    assert hits and hits[0][1].kind == "drop" and 10 <= hits[0][0] <= 13
    assert hits[0][1].delta < -0.7


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


def test_state_round_trip_is_json_safe() -> None:
    rng = random.Random(7)
    scores = noisy(rng, 0.4, 8, 0.1) + noisy(rng, -0.7, 6, 0.1)
    a = ShiftDetector()
    for x in scores[:8]:
        a.update(x)
    b = ShiftDetector.from_state(json.loads(json.dumps(a.to_state())))
    assert [a.update(x) for x in scores[8:]] == [b.update(x) for x in scores[8:]]


def test_unknown_state_version_starts_fresh() -> None:
    det = ShiftDetector.from_state({"v": 999})
    assert det.to_state()["n"] == 0
