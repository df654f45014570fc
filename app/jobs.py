"""Scheduled jobs that run on every node: today, the retention purge.

Each node runs it; the purge is idempotent, so several nodes running it at once only repeat
a cheap no-op. A failure is logged (without data) and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.core.context import Domain
from app.privacy import retention

log = logging.getLogger(__name__)


class RetentionJob:
    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.domain.settings.retention_days > 0:
            self._task = asyncio.create_task(self._run(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        interval = self.domain.settings.retention_interval_seconds
        while True:
            try:
                done = await retention.purge(self.domain)
                log.info("retention purge: %s", done)
            except Exception:
                log.warning("retention purge failed; retrying in %ss", interval, exc_info=True)
            await asyncio.sleep(interval)
