"""The provider interface: another provider (Vonage, MessageBird, an SMPP gateway) is one
module implementing it, registered in `app.sms.service.PROVIDERS`."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class InboundText:
    message_id: str
    sender: str
    body: str


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    message_id: str
    status: str
    error_code: str | None


class BadSignature(Exception):
    """The webhook is not from the provider (or was altered): answered 403."""


class BadWebhook(Exception):
    """Signed, but missing what the provider always sends: answered 400."""


class SendFailed(Exception):
    """retry: worth trying again later. maybe_sent: the provider may have taken it (the answer
    was lost), so look before sending again."""

    def __init__(self, detail: str, *, retry: bool, maybe_sent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry = retry
        self.maybe_sent = maybe_sent


Params = Sequence[tuple[str, str]]


class SmsProvider(abc.ABC):
    name: str
    answer_media_type: str = "text/plain"
    answer_body: bytes = b""

    @abc.abstractmethod
    def check_signature(self, url: str, params: Params, headers: dict[str, str]) -> None:
        """Raise BadSignature unless the provider signed exactly this request."""

    @abc.abstractmethod
    def inbound(self, params: Params) -> InboundText: ...

    @abc.abstractmethod
    def delivery(self, params: Params) -> DeliveryReport: ...

    @abc.abstractmethod
    async def send(self, *, to: str, body: str, status_callback: str | None) -> str:
        """Hand one SMS to the provider; return its id. Raises SendFailed."""

    @abc.abstractmethod
    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        """The id of this text if the provider took it since `since` (after a lost answer)."""

    async def aclose(self) -> None:  # noqa: B027
        """Release connections."""
