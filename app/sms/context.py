"""What the inbound and outbound loops need from the SMS service. A protocol, so that the
loops and the service that runs them do not import each other."""

from __future__ import annotations

from typing import Protocol

from app.core.context import Domain
from app.settings import Settings
from app.sms.metrics import SmsMetrics
from app.sms.numbers import NumberVault
from app.sms.provider import SmsProvider


class SmsContext(Protocol):
    domain: Domain
    settings: Settings
    metrics: SmsMetrics
    provider: SmsProvider
    vault: NumberVault
    status_url: str
    help_text: str

    @property
    def crisis_text(self) -> str:
        """After a crisis rating or HELP NOW: words for a person, then the crisis resources."""
        ...

    async def reply(self, contact_id: str, key: str, text: str) -> None:
        """A text from the service itself (answers to keywords), once per key."""
        ...
