"""Who listens on which channel on this node: one registry for every backend, so that local
delivery (and what a handler that fails does to the others) is the same whichever carries
events between nodes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from app.bus.base import Handler, Subscription

log = logging.getLogger(__name__)


class Registry:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def add(self, channel: str, handler: Handler) -> bool:
        """True when this is the channel's first handler (the backend starts listening)."""
        handlers = self._handlers.setdefault(channel, [])
        handlers.append(handler)
        return len(handlers) == 1

    def remove(self, channel: str, handler: Handler) -> bool:
        """True when the channel's last handler went (the backend stops listening)."""
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return False
        handlers.remove(handler)
        if handlers:
            return False
        del self._handlers[channel]
        return True

    def deliver(self, channel: str, data: bytes) -> None:
        """To every handler of the channel; one that fails is logged and the rest still run."""
        for handler in tuple(self._handlers.get(channel, ())):
            try:
                handler(data)
            except Exception:
                log.exception("bus handler failed on %s", channel)

    def channels(self) -> list[str]:
        return list(self._handlers)

    def __contains__(self, channel: object) -> bool:
        return channel in self._handlers

    def clear(self) -> None:
        self._handlers.clear()


class RegisteredSubscription(Subscription):
    """Closing removes the handler through the backend, which knows what else to undo."""

    def __init__(
        self, channel: str, handler: Handler, unsubscribe: Callable[[str, Handler], Awaitable[None]]
    ) -> None:
        self._channel = channel
        self._handler = handler
        self._unsubscribe = unsubscribe

    async def close(self) -> None:
        await self._unsubscribe(self._channel, self._handler)
