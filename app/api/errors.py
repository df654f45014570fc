"""The one error format: {"error": {"code", "detail"}} with a fitting status, never a trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware import HttpMiddleware
from app.core.errors import DomainError, Locked, RateLimited

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "muted": 403,
    "group_paused": 409,
    "too_large": 413,
    "locked": 423,
    "rate_limited": 429,
    "unavailable": 503,
}
CODE_BY_STATUS = {status: code for code, status in STATUS_BY_CODE.items()} | {
    405: "method_not_allowed",
    415: "bad_request",
    422: "bad_request",
}


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "detail": detail, **extra}}


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(error_body(code, detail, **extra), status_code=status, headers=headers)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        if err.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class CatchAll(HttpMiddleware):
    """Turns an unexpected exception into the error format, logged once without request data.
    (Starlette's own 500 handler re-raises, which logs the trace a second time.)"""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(
                500, "internal", "something went wrong on our side; try again"
            )
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(CatchAll)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited | Locked):
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return error_response(
            STATUS_BY_CODE.get(exc.code, 400), exc.code, exc.detail, headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "bad_request", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_BY_STATUS.get(
            exc.status_code, "bad_request" if exc.status_code < 500 else "internal"
        )
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, detail, headers)
