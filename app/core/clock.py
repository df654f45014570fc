"""Time and ids: one way to say "now", to write a moment, and to name a new row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Always aware and in UTC, so that moments from SQLite and PostgreSQL compare alike."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Opaque ids with a readable prefix, so a stray id in a log says what it names."""
    return f"{prefix}_{uuid.uuid4().hex}"


def iso(moment: datetime) -> str:
    """The contract's timestamps: ISO 8601, milliseconds, `Z` for UTC."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
