"""Storage failures as the domain's error, in one place, so that transports answer them without
knowing the database library."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import Unavailable

log = logging.getLogger(__name__)
UNAVAILABLE_DETAIL = "could not reach storage; try again"


@contextmanager
def storage_unavailable(action: str) -> Iterator[None]:
    """Raise Unavailable for a database error or a lost connection inside: nothing was stored,
    so the client may send the same request again."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        log.warning("%s failed: storage unavailable (%s)", action, type(exc).__name__)
        raise Unavailable(UNAVAILABLE_DETAIL) from exc
