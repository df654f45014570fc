"""Lookups by composite key use the index on both databases' planners (here SQLite's, which
scans the whole table for a row-value IN of two or more keys)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, create_engine, insert, select

from app.storage.keys import MAX_KEYS, any_of, key_params
from app.storage.models import Base, Membership, Message

MESSAGES = cast(Table, Message.__table__)
KEY = (MESSAGES.c.room_id, MESSAGES.c.sender_id, MESSAGES.c.client_msg_id)


@pytest.fixture()
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(MESSAGES),
            [
                {
                    "id": f"m{i}", "room_id": f"r{i % 7}", "seq": i, "sender_id": f"s{i % 3}",
                    "sender_handle": "h", "sender_role": "participant",
                    "client_msg_id": f"c{i}", "body": "x",
                }
                for i in range(60)
            ],
        )  # fmt: skip
    yield engine
    engine.dispose()


def _plan(engine: Engine, statement: Any, params: dict[str, Any] | None = None) -> str:
    bound = statement.params(params) if params else statement
    sql = str(bound.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


def test_exactly_the_rows_with_one_of_the_keys(engine: Engine) -> None:
    keys = [("r1", "s1", "c1"), ("r3", "s0", "c45"), ("r1", "s2", "c1"), ("r9", "s0", "c0")]
    with engine.connect() as conn:
        statement = select(MESSAGES.c.id).where(any_of(KEY, len(keys)))
        found = conn.execute(statement, key_params(keys)).scalars().all()
    assert sorted(found) == ["m1", "m45"]


def test_no_keys_match_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(select(MESSAGES).where(any_of(KEY, 0))).all() == []


def test_too_many_keys_for_one_statement_are_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        any_of(KEY, MAX_KEYS + 1)


@pytest.mark.parametrize("n", [2, 64, 256])
def test_the_index_is_searched_not_the_table_scanned(engine: Engine, n: int) -> None:
    keys = [(f"r{i}", f"s{i}", f"c{i}") for i in range(n)]
    plan = _plan(engine, select(MESSAGES).where(any_of(KEY, n)), key_params(keys))
    assert "SCAN messages" not in plan and "USING INDEX" in plan, plan
    pairs = [(f"r{i}", f"u{i}") for i in range(n)]
    key = (Membership.room_id, Membership.member_id)
    plan = _plan(engine, select(Membership.role).where(any_of(key, n)), key_params(pairs))
    assert "SCAN memberships" not in plan, plan


def test_a_row_value_in_would_scan_the_table(engine: Engine) -> None:
    """Why any_of exists: if SQLite ever plans this with the index, it can go."""
    from sqlalchemy import tuple_

    keys = [("r1", "s1", "c1"), ("r2", "s2", "c2")]
    plan = _plan(engine, select(MESSAGES).where(tuple_(*KEY).in_(keys)))
    assert "SCAN messages" in plan, plan
