"""Open sockets whose sign-in no longer holds are closed with 4401: tokens that expired, and
staff accounts disabled, gone, moved to another role or given a new password since. Each node
checks its own connections against storage, so this works with the bus away."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from app.accounts.sign_in import staff_session_refusals
from app.core.context import Domain
from app.ws import frames
from app.ws.connection import Connection
from app.ws.hub import Hub

log = logging.getLogger(__name__)


class SessionGuard:
    def __init__(
        self,
        hub: Hub,
        domain: Domain,
        *,
        recheck_access: Callable[[list[Connection]], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.domain = domain
        self.recheck_access = recheck_access
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._guard(), name="session-guard")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _guard(self) -> None:
        interval = self.domain.settings.session_check_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                log.warning("session check failed", exc_info=True)

    async def check(self) -> None:
        now = time.time()
        for conn in list(self.hub.connections.values()):
            if conn.expires_at <= now:
                self._unauthorized(conn, "your sign-in expired; sign in again")
        staff = [c for c in self.hub.connections.values() if c.is_staff and not c.closing]
        if not staff:
            return
        # Peer workers' looks at waiting requests end with a claim on any node: re-checked here
        # too, so that a claim whose news was lost (a node cut off from Redis) still ends them.
        await self.recheck_access([c for c in staff if c.principal.role == "peer_worker"])
        refusals = await staff_session_refusals(
            self.domain, [(c.principal, c.issued_at) for c in staff]
        )
        for conn, refusal in zip(staff, refusals, strict=True):
            if refusal is not None:
                self._unauthorized(conn, refusal)

    def _unauthorized(self, conn: Connection, reason: str) -> None:
        if not conn.closing:
            self.hub.metrics.ws_revoked.inc()
            conn.close(frames.CLOSE_UNAUTHORIZED, reason)
