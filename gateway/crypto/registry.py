"""Which columns hold envelopes, so `satupintu keys rotate` re-wraps every one of them.

Domains declare a column by typing it `SealedBytes`; it is found in `Base.metadata` once the
models are loaded (`gateway.models`, which rotation imports). This module imports no model, so
domain models can import it without a cycle. Rotation needs no associated data: it re-wraps
data keys without decrypting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import LargeBinary, Table
from sqlalchemy.types import TypeDecorator

from gateway.db import Base


class SealedBytes(TypeDecorator[bytes]):
    """A binary column that holds `gateway.crypto.envelope` blobs (marker for rotation)."""

    impl = LargeBinary
    cache_ok = True


@dataclass(frozen=True)
class EnvelopeColumn:
    table: str
    column: str


def envelope_columns() -> list[EnvelopeColumn]:
    """Every `SealedBytes`-typed column of the loaded models, sorted."""
    found: set[EnvelopeColumn] = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, SealedBytes):
                found.add(EnvelopeColumn(table.name, column.name))
    return sorted(found, key=lambda c: (c.table, c.column))


def table_of(column: EnvelopeColumn) -> Table:
    table = Base.metadata.tables.get(column.table)
    if table is None:
        raise LookupError(f"envelope column {column.table}.{column.column} has no model loaded")
    return table
