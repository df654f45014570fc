"""The provider's webhooks: verified, stored, answered. Nothing slow happens before the answer:
the text is processed afterwards by the node's inbound loop (or any other node's)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from app.core.errors import BadRequest, Forbidden, NotFound
from app.sms import store
from app.sms.content.keywords import classify
from app.sms.provider import BadSignature, BadWebhook
from app.sms.service import SmsService

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms"], include_in_schema=False)


async def _verified(request: Request, provider: str) -> tuple[SmsService, list[tuple[str, str]]]:
    sms: SmsService | None = getattr(request.app.state, "sms", None)
    if sms is None or sms.provider.name != provider:
        raise NotFound("no such SMS provider here")
    raw = await request.body()
    try:
        params = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadRequest("the webhook body is not form-encoded UTF-8") from None
    # Signed over the URL the provider called: the configured public base, this path, the query.
    url = (sms.settings.public_url or "").rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    try:
        sms.provider.check_signature(
            url, params, {k.lower(): v for k, v in request.headers.items()}
        )
    except BadSignature as exc:
        # The URL checked is the configured public one: a wrong PEERCHAT_PUBLIC_URL shows here.
        log.warning("sms webhook refused: %s (checked against %s)", exc, url.split("?", 1)[0])
        sms.metrics.refused.inc()
        raise Forbidden("the request is not signed by the SMS provider") from None
    return sms, params


@router.post("/sms/{provider}/inbound")
async def inbound(request: Request, provider: str) -> Response:
    sms, params = await _verified(request, provider)
    try:
        text = sms.provider.inbound(params)
    except BadWebhook as exc:
        raise BadRequest(str(exc)) from None
    await store.record_inbound(
        sms.domain, provider=provider, text=text, vault=sms.vault, keyword=classify(text.body)
    )
    sms.wake_inbound()
    return Response(sms.provider.answer_body, media_type=sms.provider.answer_media_type)


@router.post("/sms/{provider}/status")
async def status(request: Request, provider: str) -> Response:
    sms, params = await _verified(request, provider)
    try:
        report = sms.provider.delivery(params)
    except BadWebhook as exc:
        raise BadRequest(str(exc)) from None
    await store.record_delivery(
        sms.domain,
        provider_message_id=report.message_id,
        status=report.status,
        error_code=report.error_code,
    )
    sms.metrics.delivery.labels(status=report.status).inc()
    if report.status in ("failed", "undelivered"):
        log.warning("sms %s not delivered (error %s)", report.message_id, report.error_code)
    return Response(sms.provider.answer_body, media_type=sms.provider.answer_media_type)
