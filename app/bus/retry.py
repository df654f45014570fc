"""The one back-off for the Redis loops (publisher, pub/sub reader, stream reader): each waits
longer after every failure in a row, up to its last step, and starts over after a success."""

from __future__ import annotations

from collections.abc import Sequence


class Backoff:
    def __init__(self, delays: Sequence[float]) -> None:
        if not delays:
            raise ValueError("a back-off needs at least one delay")
        self._delays = tuple(float(d) for d in delays)
        self.failures = 0
        """Failures since the last success."""

    def failed(self) -> float:
        """Count a failure; the seconds to wait before the next try."""
        delay = self._delays[min(self.failures, len(self._delays) - 1)]
        self.failures += 1
        return delay

    def succeeded(self) -> bool:
        """Start over; True when this success ended a run of failures (a recovery)."""
        recovered = self.failures > 0
        self.failures = 0
        return recovered
