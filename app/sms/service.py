"""The SMS channel on one node: the provider, and two loops (texts in, texts out) woken by
news and by a short poll, so that work stored by any node, or before a restart, is done."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from app.bus.base import Subscription
from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity
from app.core.events import ALERTS_CHANNEL, decode
from app.settings import Settings
from app.sms import inbound, outbound, store
from app.sms.content import resources
from app.sms.metrics import SmsMetrics
from app.sms.models import SmsContact
from app.sms.numbers import NumberVault
from app.sms.provider import SmsProvider
from app.sms.twilio import TwilioProvider

log = logging.getLogger(__name__)
INBOUND_ATTEMPTS = 5
CRISIS_TEXT = (
    "It sounds like things are very hard right now. A supervisor has been told, and someone "
    "will be with you as soon as they can. "
)


def _twilio(settings: Settings) -> SmsProvider:
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.sms_number
    return TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        api_base=settings.twilio_api_base,
        number=settings.sms_number,
        timeout=settings.sms_send_timeout_seconds,
    )


PROVIDERS: dict[str, Callable[[Settings], SmsProvider]] = {"twilio": _twilio}


class SmsService:
    def __init__(
        self, domain: Domain, provider: SmsProvider, metrics: SmsMetrics | None = None
    ) -> None:
        self.domain = domain
        self.metrics = metrics or SmsMetrics()
        self.settings = domain.settings
        self.provider = provider
        self.vault = NumberVault(self.settings.signing_key, self.settings.sms_number_key)
        base = (self.settings.public_url or "").rstrip("/")
        self.status_url = f"{base}/sms/{provider.name}/status"
        self._wake_in = asyncio.Event()
        self._wake_out = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()
        self._alerts: Subscription | None = None
        self.help_text = resources.help_text(self.settings)

    @classmethod
    def from_settings(
        cls, domain: Domain, registry: CollectorRegistry | None = None
    ) -> SmsService | None:
        name = domain.settings.sms_provider
        if name is None:
            return None
        return cls(domain, PROVIDERS[name](domain.settings), SmsMetrics(registry))

    async def start(self) -> None:
        self.domain.events.on_message_stored(lambda _message: self._wake_out.set())
        self._alerts = await self.domain.events.bus.subscribe(
            ALERTS_CHANNEL, self._on_alert, durable=True
        )
        self._tasks = [
            asyncio.create_task(self._inbound_forever(), name="sms-inbound"),
            asyncio.create_task(self._outbound_forever(), name="sms-outbound"),
        ]

    async def stop(self) -> None:
        if self._alerts is not None:
            with contextlib.suppress(Exception):
                await self._alerts.close()
        for task in [*self._tasks, *self._spawned]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.provider.aclose()

    @property
    def crisis_text(self) -> str:
        """After a crisis rating or HELP NOW: words for a person, then the crisis resources."""
        return CRISIS_TEXT + self.help_text

    def wake_inbound(self) -> None:
        self._wake_in.set()

    async def reply(self, contact_id: str, key: str, text: str) -> None:
        """A text from the service itself (answers to keywords), once per key."""
        async with self.domain.db.write() as session:
            await store.enqueue(
                session,
                store.outbox_rows(
                    key=key,
                    contact_id=contact_id,
                    text=text,
                    max_segments=self.settings.sms_max_segments,
                ),
            )
        self._wake_out.set()

    # loops

    async def _wait(self, event: asyncio.Event) -> None:
        """Until woken (the event was set since the round began) or the poll interval."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=self.settings.sms_poll_seconds)

    async def _inbound_forever(self) -> None:
        while True:
            self._wake_in.clear()  # before the round: a wake during it starts another
            try:
                worked = await self._inbound_once()
            except Exception:
                log.warning("sms inbound: storage unavailable", exc_info=True)
                worked = 0
            if not worked:
                await self._wait(self._wake_in)

    async def _inbound_once(self) -> int:
        claimed = await store.claim_inbound(
            self.domain,
            node=self.settings.node_id,
            limit=20,
            lease_seconds=self.settings.sms_lease_seconds,
        )
        for row in claimed:
            try:
                outcome = await inbound.process(self, row)
            except Exception as exc:
                if row.attempts >= INBOUND_ATTEMPTS:
                    log.error(
                        "sms inbound %s given up after %d attempts (%s)",
                        row.id,
                        row.attempts,
                        type(exc).__name__,
                    )
                    await store.finish_inbound(self.domain, row.id, outcome="failed", failed=True)
                else:
                    log.warning(
                        "sms inbound %s failed (%s); will retry", row.id, type(exc).__name__
                    )
                    await store.release_inbound(self.domain, row.id)
                    await asyncio.sleep(min(5.0, 0.2 * 2**row.attempts))
                continue
            await store.finish_inbound(self.domain, row.id, outcome=outcome, failed=False)
            self.metrics.received.labels(outcome=outcome).inc()
            self._wake_out.set()
        return len(claimed)

    async def _outbound_forever(self) -> None:
        rounds = 0
        while True:
            self._wake_out.clear()
            worked = 0
            try:
                worked += await outbound.forward(self)
                worked += await outbound.send_due(self)
                rounds += 1
                if rounds % 10 == 0:
                    await outbound.forget_numbers(self)
                if rounds % 1000 == 1 and self.settings.retention_days > 0:
                    cutoff = utcnow() - timedelta(days=self.settings.retention_days)
                    await store.purge_before(self.domain, cutoff)
            except Exception:
                log.warning("sms outbound: round failed", exc_info=True)
            if not worked:
                await self._wait(self._wake_out)

    # crisis resources after a crisis alert, raised by any node

    def _on_alert(self, data: bytes) -> None:
        event = decode(data)
        alert = event.get("alert")
        if (
            event.get("resent")
            or not isinstance(alert, dict)
            or alert.get("severity") != AlertSeverity.CRISIS
        ):
            return
        task = asyncio.create_task(self._crisis_text(alert))
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _crisis_text(self, alert: dict[str, Any]) -> None:
        try:
            async with self.domain.db.read() as session:
                contact_id = (
                    await session.execute(
                        select(SmsContact.id).where(
                            SmsContact.room_id == alert.get("room_id"),
                            SmsContact.opted_out.is_(False),
                        )
                    )
                ).scalar_one_or_none()
            if contact_id is not None:
                await self.reply(contact_id, f"alert:{alert.get('alert_id')}", self.crisis_text)
        except Exception:
            log.warning("sms: crisis resources not queued", exc_info=True)
