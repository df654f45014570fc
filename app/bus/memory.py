"""In-process bus: the embedded default for a single node."""

from __future__ import annotations

from app.bus.base import Bus, Handler, Subscription
from app.bus.registry import RegisteredSubscription, Registry


class MemoryBus(Bus):
    def __init__(self) -> None:
        self._registry = Registry()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._registry.clear()

    async def publish(
        self, channel: str, data: bytes, *, durable: bool = False, urgent: bool = False
    ) -> None:
        self._registry.deliver(channel, data)

    async def subscribe(
        self, channel: str, handler: Handler, *, durable: bool = False
    ) -> Subscription:
        self._registry.add(channel, handler)
        return RegisteredSubscription(channel, handler, self._unsubscribe)

    async def _unsubscribe(self, channel: str, handler: Handler) -> None:
        self._registry.remove(channel, handler)

    async def healthy(self) -> bool:
        return True
