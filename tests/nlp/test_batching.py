"""Messages of similar length share a forward pass: the cut is optimal for its cost model,
covers every message once, and respects the per-pass limit."""

from __future__ import annotations

import itertools
import random

import numpy as np

from nlp.batching import pad, plan


def _cost(lengths: list[int], runs: list[tuple[int, int]], overhead: int) -> int:
    return sum(overhead + (end - start) * lengths[end - 1] for start, end in runs)


def _every_cut(n: int) -> list[list[tuple[int, int]]]:
    cuts = []
    for mask in itertools.product((False, True), repeat=n - 1):
        bounds = [0] + [i + 1 for i, cut in enumerate(mask) if cut] + [n]
        cuts.append(list(itertools.pairwise(bounds)))
    return cuts


def test_the_cut_is_the_cheapest_of_all_cuts() -> None:
    rng = random.Random(7)
    for _ in range(60):
        n = rng.randint(1, 9)
        lengths = sorted(rng.randint(2, 64) for _ in range(n))
        overhead = rng.choice([0, 4, 16, 64])
        runs = plan(lengths, overhead)
        cheapest = min(_cost(lengths, c, overhead) for c in _every_cut(n))
        assert _cost(lengths, runs, overhead) == cheapest


def test_runs_cover_every_message_once_within_the_limit() -> None:
    lengths = sorted(random.Random(3).randint(2, 64) for _ in range(150))
    runs = plan(lengths, limit=64)
    assert runs[0][0] == 0 and runs[-1][1] == 150
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    assert all(0 < end - start <= 64 for start, end in runs)
    assert plan([]) == []


def test_equal_lengths_share_one_pass_and_far_apart_ones_do_not() -> None:
    assert plan([12] * 20) == [(0, 20)]
    assert plan([3, 3, 3, 60], overhead=16) == [(0, 3), (3, 4)]


def test_pad_masks_exactly_the_real_tokens() -> None:
    ids, mask = pad([[101, 7, 102], [101, 102]])
    assert ids.tolist() == [[101, 7, 102], [101, 102, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert ids.dtype == mask.dtype == np.int64
