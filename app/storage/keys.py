"""Rows by composite key, written so that the database searches its index once per key.

Why not a row-value IN (``(a, b) IN (VALUES (?, ?), (?, ?))``): SQLite (3.40) plans it, for two
or more keys, as a scan of the whole table, whatever unique index covers the columns. The message
writer's duplicate check ran one on every batch of more than one message, so its cost grew with
every message ever stored: under load, latency grew from one benchmark round to the next. An OR of
equalities is searched through the index once per key (SQLite's multi-index OR, PostgreSQL's
bitmap OR) on both databases.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import QueryableAttribute

MAX_KEYS = 500
"""SQLite parses ``a OR b OR ...`` into a tree as deep as the list is long, and refuses one deeper
than 1,000: callers look up at most this many keys per statement."""


def any_of(
    columns: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
    keys: Collection[Sequence[Any]],
) -> ColumnElement[bool]:
    """True for rows whose ``columns`` equal, in order, one of ``keys``; false for no keys."""
    if len(keys) > MAX_KEYS:
        raise ValueError(f"{len(keys)} keys in one statement; at most {MAX_KEYS}")
    if not keys:
        return false()
    return or_(*(and_(*(c == v for c, v in zip(columns, key, strict=True))) for key in keys))
