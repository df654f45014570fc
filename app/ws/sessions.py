"""Open sockets whose sign-in no longer holds are closed with 4401: tokens that expired, and
staff accounts disabled, gone, moved to another role or given a new password since. Each node
checks its own connections against storage, so this works with the bus away.

Every `PEERCHAT_SESSION_CHECK_SECONDS` (at most 4, within the contract's 5 s): expiry from each
connection's token, in memory; then, where staff sockets are open, storage. Storage is asked
only when its answer may differ from the last one: a commit since (the database's change
marker, read before the queries), a staff socket or a peer worker's room that the last check
did not cover, or `FULL_CHECK_SECONDS` since the last full check. Where the database offers no
marker (PostgreSQL), every round asks storage, as before. An idle node (no commits, the same
sockets) thus makes one trip to the database thread per round and no query."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.accounts.sign_in import staff_session_refusals
from app.core.context import Domain
from app.ws import frames
from app.ws.connection import Connection
from app.ws.hub import Hub

log = logging.getLogger(__name__)
FULL_CHECK_SECONDS = 60.0
"""Storage is asked at least this often while staff sockets are open, marker or not: a
safeguard, not the contract's bound (that one rests on the marker)."""


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
        self._marker: Any = None
        """The database's change marker read before the last full check (None: none yet)."""
        self._covered: set[tuple[str, str]] = set()
        """(connection id, room id or "") pairs the last full check looked at."""
        self._full_at = float("-inf")
        self.full_checks = 0
        """Rounds that asked storage (for tests and curiosity)."""

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
            self._covered = set()
            return
        covered = {(c.id, room_id) for c in staff for room_id in (*c.rooms, "")}
        marker = await self.domain.db.change_marker()
        if (
            marker is not None
            and marker == self._marker
            and covered <= self._covered
            and time.monotonic() - self._full_at < FULL_CHECK_SECONDS
        ):
            return  # storage unchanged since it last answered for these sockets and rooms
        began = time.monotonic()
        # Peer workers' looks at waiting requests end with a claim on any node: re-checked here
        # too, so that a claim whose news was lost (a node cut off from Redis) still ends them.
        await self.recheck_access([c for c in staff if c.principal.role == "peer_worker"])
        refusals = await staff_session_refusals(
            self.domain, [(c.principal, c.issued_at) for c in staff]
        )
        for conn, refusal in zip(staff, refusals, strict=True):
            if refusal is not None:
                self._unauthorized(conn, refusal)
        # Only once storage has answered: a failed round is asked again in full.
        self.full_checks += 1
        self._marker, self._covered, self._full_at = marker, covered, began

    def _unauthorized(self, conn: Connection, reason: str) -> None:
        if not conn.closing:
            self.hub.metrics.ws_revoked.inc()
            conn.close(frames.CLOSE_UNAUTHORIZED, reason)
