"""Queries of the crypto domain: paging through envelope columns and swapping blobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, select, tuple_, update
from sqlalchemy.orm import Session


def envelope_page(
    session: Session, *, table: Table, column: str, after: tuple[Any, ...] | None, limit: int
) -> Sequence[tuple[tuple[Any, ...], bytes]]:
    """The next `limit` (primary key, blob) pairs in key order, skipping NULL blobs."""
    pk = list(table.primary_key.columns)
    query = select(*pk, table.c[column]).where(table.c[column].is_not(None))
    if after is not None:
        query = query.where(tuple_(*pk) > tuple_(*after))
    rows = session.execute(query.order_by(*pk).limit(limit)).all()
    return [(tuple(row[: len(pk)]), row[len(pk)]) for row in rows]


def swap_blob(
    session: Session, *, table: Table, column: str, key: tuple[Any, ...], old: bytes, new: bytes
) -> bool:
    """Replace `old` with `new` unless a concurrent writer already changed the row."""
    pk = list(table.primary_key.columns)
    condition = and_(*(c == v for c, v in zip(pk, key, strict=True)), table.c[column] == old)
    result = session.execute(update(table).where(condition).values({column: new}))
    return bool(getattr(result, "rowcount", 0))
