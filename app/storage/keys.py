"""Rows by composite key, written so that the database searches its index once per key.

Why not a row-value IN (``(a, b) IN (VALUES (?, ?), (?, ?))``): SQLite (3.40) plans it, for two
or more keys, as a scan of the whole table, whatever unique index covers the columns. The message
writer's duplicate check ran one on every batch of more than one message, so its cost grew with
every message ever stored: under load, latency grew from one benchmark round to the next. An OR of
equalities is searched through the index once per key (SQLite's multi-index OR, PostgreSQL's
bitmap OR) on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_
from sqlalchemy.orm import QueryableAttribute

MAX_KEYS = 500
"""SQLite parses ``a OR b OR ...`` into a tree as deep as the list is long, and refuses one deeper
than 1,000: callers look up at most this many keys per statement."""


def any_of(
    columns: Sequence[ColumnElement[Any] | QueryableAttribute[Any]], count: int
) -> ColumnElement[bool]:
    """True for rows whose ``columns`` equal, in order, one of ``count`` keys bound by name
    (``key_params``); false for none. Build a statement once per count and keep it (callers cache
    it): building one costs more than running it on an indexed table."""
    if count > MAX_KEYS:
        raise ValueError(f"{count} keys in one statement; at most {MAX_KEYS}")
    if count <= 0:
        return false()
    return or_(
        *(and_(*(c == bindparam(f"k{i}_{j}") for j, c in enumerate(columns))) for i in range(count))
    )


def key_params(keys: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """The values of ``keys`` under the names ``any_of`` binds."""
    return {f"k{i}_{j}": v for i, key in enumerate(keys) for j, v in enumerate(key)}
