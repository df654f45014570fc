"""Twilio: signed form webhooks in, the Messages REST API out."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.sms.provider import (
    BadSignature,
    BadWebhook,
    DeliveryReport,
    InboundText,
    Params,
    SendFailed,
    SmsProvider,
)

SIGNATURE_HEADER = "x-twilio-signature"
CLOCK_SKEW = timedelta(seconds=30)
"""Our clock and the provider's may differ: a text it took this long before we asked counts."""


def signature(auth_token: str, url: str, params: Params) -> str:
    """Twilio's scheme: base64 HMAC-SHA1, keyed with the auth token, of the URL followed by
    every POST parameter's name and value, sorted by name (and values of a repeated name)."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for name, value in params:
        grouped[name].add(value)
    data = url + "".join(n + v for n in sorted(grouped) for v in sorted(grouped[n]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _field(params: Params, name: str) -> str | None:
    for key, value in params:
        if key == name:
            return value
    return None


class TwilioProvider(SmsProvider):
    name = "twilio"
    answer_media_type = "text/xml"
    answer_body = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

    def __init__(
        self, *, account_sid: str, auth_token: str, api_base: str, number: str, timeout: float
    ) -> None:
        self._sid = account_sid
        self._token = auth_token
        self._number = number
        self._messages = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._http = httpx.AsyncClient(
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": "peerchat-sms"},
        )

    def check_signature(self, url: str, params: Params, headers: dict[str, str]) -> None:
        given = headers.get(SIGNATURE_HEADER)
        if not given:
            raise BadSignature("missing signature")
        expected = signature(self._token, url, params)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise BadSignature("bad signature")

    def inbound(self, params: Params) -> InboundText:
        sid, sender = _field(params, "MessageSid"), _field(params, "From")
        if not sid or not sender or len(sid) > 64:
            raise BadWebhook("MessageSid and From are required")
        return InboundText(message_id=sid, sender=sender, body=_field(params, "Body") or "")

    def delivery(self, params: Params) -> DeliveryReport:
        sid = _field(params, "MessageSid") or _field(params, "SmsSid")
        status = _field(params, "MessageStatus") or _field(params, "SmsStatus")
        if not sid or not status:
            raise BadWebhook("MessageSid and MessageStatus are required")
        return DeliveryReport(sid, status[:16], (_field(params, "ErrorCode") or None))

    async def send(self, *, to: str, body: str, status_callback: str | None) -> str:
        form = {"To": to, "From": self._number, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        try:
            response = await self._http.post(self._messages, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise SendFailed(f"provider unreachable ({type(exc).__name__})", retry=True) from None
        except httpx.TransportError as exc:
            # Sent, but the answer never came: the provider may have taken it.
            raise SendFailed(
                f"no answer from provider ({type(exc).__name__})", retry=True, maybe_sent=True
            ) from None
        if response.status_code in (200, 201):
            sid = _json(response).get("sid")
            if isinstance(sid, str) and sid:
                return sid
            raise SendFailed("provider answer without a sid", retry=True, maybe_sent=True)
        code = _json(response).get("code")
        detail = f"provider answered {response.status_code}" + (f" (code {code})" if code else "")
        retry = response.status_code == 429 or response.status_code >= 500
        raise SendFailed(detail, retry=retry)

    async def find_sent(self, *, to: str, body: str, since: datetime) -> str | None:
        try:  # newest first; a text queued but not yet sent has no date_sent, so none is asked
            response = await self._http.get(
                self._messages, params={"To": to, "From": self._number, "PageSize": "100"}
            )
        except httpx.TransportError as exc:
            raise SendFailed(f"provider unreachable ({type(exc).__name__})", retry=True) from None
        if response.status_code != 200:
            raise SendFailed(f"provider answered {response.status_code}", retry=True)
        for item in _json(response).get("messages") or ():
            if not isinstance(item, dict) or item.get("body") != body or not item.get("sid"):
                continue
            created = _when(item.get("date_created"))
            if created is not None and created >= since - CLOCK_SKEW:
                return str(item["sid"])
        return None

    async def aclose(self) -> None:
        await self._http.aclose()


def _when(value: object) -> datetime | None:
    """Twilio writes dates as RFC 2822."""
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
