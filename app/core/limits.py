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


class LoginGuard:
    """Failed sign-ins, counted per (account, address) and in total, in this node's memory.

    Per pair, so that guesses from one address lock that address out of that account and
    nobody else: an attacker can no longer lock a peer worker out by failing five times from
    anywhere. In total, a ceiling against spraying (a few guesses at many accounts from many
    addresses): past it, addresses that have failed recently are refused for a while, and
    addresses that have not (the staff themselves) still get in. Addresses are never stored.
    """

    def __init__(
        self,
        *,
        failures_before_lock: int,
        lock_seconds: float,
        global_per_minute: int,
        max_entries: int = 50_000,
    ) -> None:
        self._limit = failures_before_lock
        self._lock_seconds = lock_seconds
        self._pairs: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        """(account, address) -> (failures in the window, when the window started)"""
        self._failing: OrderedDict[str, float] = OrderedDict()
        """address -> its last failure"""
        self._ceiling = TokenBucket(rate=global_per_minute / 60.0, burst=global_per_minute)
        self._max = max_entries

    def locked_for(self, account: str, address: str) -> float:
        """Seconds until this address may try this account again; 0 when it may now."""
        entry = self._pairs.get((account, address))
        if entry is None or entry[0] < self._limit:
            return 0.0
        remaining = entry[1] + self._lock_seconds - time.monotonic()
        if remaining <= 0:
            del self._pairs[(account, address)]
            return 0.0
        return remaining

    def spraying_from(self, address: str) -> float:
        """Seconds an address that failed recently waits while the node-wide ceiling of failed
        sign-ins is spent; 0 when it may try now."""
        if address not in self._failing or self._ceiling.retry_after() <= 0:
            return 0.0
        if time.monotonic() - self._failing[address] > self._lock_seconds:
            del self._failing[address]
            return 0.0
        return max(1.0, self._ceiling.retry_after())

    def failed(self, account: str, address: str) -> None:
        now = time.monotonic()
        key = (account, address)
        count, started = self._pairs.get(key, (0, now))
        if now - started > self._lock_seconds:
            count, started = 0, now
        self._pairs[key] = (count + 1, started if count else now)
        self._pairs.move_to_end(key)
        self._failing[address] = now
        self._failing.move_to_end(address)
        self._ceiling.take()
        for table in (self._pairs, self._failing):
            while len(table) > self._max:
                table.popitem(last=False)

    def succeeded(self, account: str, address: str) -> None:
        self._pairs.pop((account, address), None)
