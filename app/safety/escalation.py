"""Alerts nobody acknowledged go out again, on a timer, until someone does."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.core.context import Domain
from app.safety import alerts

log = logging.getLogger(__name__)


class AlertResender:
    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self._task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        return max(0.5, min(5.0, self.domain.settings.alert_ack_seconds / 4))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-resender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                for alert in await alerts.resend_due(self.domain):
                    log.info("alert %s not acknowledged; sent again", alert["alert_id"])
            except Exception:
                log.warning("re-sending alerts failed", exc_info=True)
