"""Which messages share a forward pass: groups of similar length, chosen per batch.

Why: a batch runs padded to its longest message, and chat lengths vary a lot ("ok" beside a
paragraph). Measured on the benchmark's chat mix (batches of 32, ONNX int8, one thread): one pass
per batch ran 19.4 padded tokens per message for 12.2 real ones, and a pass per message paid the
runtime's fixed cost 32 times; both came to about 1 ms a message. Sorting the batch by length
and cutting it where padding would cost more than another pass ran the network alone at 1,700
messages/s against 1,000, and the whole scoring (lexicon and classifier included) at 946 against
775 (docs/benchmarks.md).

The cut is exact for a simple cost: a pass costs ``overhead`` tokens' worth of fixed work plus
one unit per padded token. Attention grows with the square of the length, which only favours
cutting long messages apart, so the linear model errs on the side of fewer passes. A message's
scores do not depend on where it lands: padding is masked, and the int8 graph scales each token
on its own (``nlp.training.export``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RUN_OVERHEAD_TOKENS = 16
"""A forward pass's fixed cost in padded tokens' worth: 8 to 32 ran within 2% of each other on the
benchmark's batches of 32 (AVX-512 VNNI). Where a token costs more (AVX2 alone) the best value is
lower, not measured; the flat curve suggests the loss from this one is small."""


def plan(
    lengths: Sequence[int], overhead: int = RUN_OVERHEAD_TOKENS, limit: int = 64
) -> list[tuple[int, int]]:
    """Cut ``lengths`` (sorted ascending) into runs ``[start, end)`` of at most ``limit``
    messages, minimising the sum over runs of ``overhead + size * longest`` (dynamic
    programming: quadratic in the batch, microseconds for the batches the service makes)."""
    n = len(lengths)
    best = [0] + [0] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = lengths[end - 1]
        best_cost = -1
        for start in range(end - 1, max(-1, end - 1 - limit), -1):
            cost = best[start] + overhead + (end - start) * longest
            if best_cost < 0 or cost < best_cost:
                best_cost, cut[end] = cost, start
        best[end] = best_cost
    runs: list[tuple[int, int]] = []
    end = n
    while end > 0:
        runs.append((cut[end], end))
        end = cut[end]
    return runs[::-1]


def pad(rows: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask (int64), padded to the longest of ``rows``."""
    width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask
