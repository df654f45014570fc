"""Logging that cannot leak what people wrote or the keys to their sessions.

Libraries log more than peerchat does: at DEBUG, aiosqlite prints each SQL statement with its
parameters (message bodies), the websockets protocol prints every frame (auth tokens), and
uvicorn's access log prints query strings. Those sources are silenced or stripped here, and a
last filter on every handler redacts anything shaped like a bearer token.
"""

from __future__ import annotations

import logging
import re

# A JWT: three base64url parts, the first two starting with '{"' encoded ("eyJ").
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")
# httpx logs each request's URL at INFO: an SMS provider's lookups carry a phone number there.
_QUIET_LOGGERS = (
    "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore",
)  # fmt: skip
_FRAME_DUMPS = frozenset({"< %s", "> %s", "%s < %s", "%s > %s"})


class DropFrameDumps(logging.Filter):
    """websockets logs each frame, payload included, at DEBUG through uvicorn's logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.DEBUG and record.msg in _FRAME_DUMPS)


class StripQueryStrings(logging.Filter):
    """uvicorn.access records carry (client, method, path?query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


_ID_SEGMENT = re.compile(r"(?<=/)[A-Za-z]*_?[0-9a-f]{12,}(?=/|$)")


class AnonymiseRequests(logging.Filter):
    """Access lines ("ADDRESS - "METHOD PATH" STATUS") and uvicorn's WebSocket lines name the
    client's address, and paths carry room and alert ids: together they would tie an address to
    a conversation and to what was done in it ("/help", DELETE /me). Addresses are never stored,
    so both are dropped: the address becomes "-", each id in a path becomes ":id"."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and args
            and isinstance(record.msg, str)
            and record.msg.startswith('%s - "')
        ):
            cleaned = ["-", *args[1:]]
            for i, value in enumerate(cleaned):
                if isinstance(value, str) and value.startswith("/"):
                    cleaned[i] = _ID_SEGMENT.sub(":id", value)
            record.args = tuple(cleaned)
        return True


class RedactTokens(logging.Filter):
    """The last line of defence, on every handler: a token-shaped string becomes [token]."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if "eyJ" in message:
            record.msg = _TOKEN.sub("[token]", message)
            record.args = None
        return True


def protect() -> None:
    """Install the filters. Call after uvicorn has configured its loggers (it replaces them)."""
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    for name in ("uvicorn.error", "websockets", "websockets.server", "websockets.protocol"):
        logging.getLogger(name).addFilter(DropFrameDumps())
    logging.getLogger("uvicorn.access").addFilter(StripQueryStrings())
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(AnonymiseRequests())
    redact = RedactTokens()
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(redact)
