"""The one bus interface. Storage is the source of truth; the bus only carries news, so a lost
event costs latency (clients resume from storage by seq), never data.

Presence (who is online) is a separate interface, app/bus/presence.py: it is state with
expiry, not news."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable

Handler = Callable[[bytes], None]
"""Called on the event loop for every event on a channel; must not block or await."""


class Subscription(abc.ABC):
    @abc.abstractmethod
    async def close(self) -> None: ...


class Bus(abc.ABC):
    """Fan-out of encoded events to every node, including the publishing one."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(
        self, channel: str, data: bytes, *, durable: bool = False, urgent: bool = False
    ) -> None:
        """Deliver to every subscriber of channel on every node; never raises for transport
        faults (they are logged and counted), because storage already holds the truth.

        urgent: never dropped for age while the bus is away (access revoked: late is still
        needed, where late chat news is not).

        durable: the event is kept (a Redis Stream) so that a node whose link to the bus broke
        for a while reads what it missed when the link is back. For alerts."""

    @abc.abstractmethod
    async def subscribe(
        self, channel: str, handler: Handler, *, durable: bool = False
    ) -> Subscription: ...

    @abc.abstractmethod
    async def healthy(self) -> bool: ...

    async def condition(self) -> str:
        """For /readyz: "ok", "stalled" (connected but not answering in time) or "unavailable".
        Never waits on the transport."""
        return "ok" if await self.healthy() else "unavailable"

    async def forget(self, channel: str, match: Callable[[bytes], bool]) -> int:
        """Delete kept events of a durable channel that `match` ("delete my data"); the count.
        The in-process bus keeps nothing."""
        return 0

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:  # noqa: B027
        """Called after a lost connection to the bus is back: news may have been missed, so
        listeners catch up from storage. The in-process bus never loses its connection."""
