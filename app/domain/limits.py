"""Token buckets: per-connection message rates and per-address session and login rates."""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBucket:
    """rate tokens per second, up to burst; take() never waits, it says yes or no."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        return max(0.0, (cost - self._tokens) / self.rate)


class AddressLimits:
    """Per-address buckets for one node, bounded so that a flood of addresses cannot grow it."""

    def __init__(self, max_addresses: int = 50_000) -> None:
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()
        self._max = max_addresses

    def allow(self, kind: str, address: str, per_minute: int) -> tuple[bool, float]:
        key = (kind, address)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=per_minute / 60.0, burst=per_minute)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if bucket.take():
            return True, 0.0
        return False, bucket.retry_after()
