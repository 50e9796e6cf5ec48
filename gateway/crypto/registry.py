"""Which columns hold envelopes, so `satupintu keys rotate` re-wraps every one of them.

Domains declare a column either by typing it `SealedBytes` (found automatically in
`Base.metadata`) or by calling `register_envelope_column("people", "nik_ciphertext")` next to
their models. Rotation needs no associated data: it re-wraps data keys without decrypting.
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


_registered: set[EnvelopeColumn] = set()


def register_envelope_column(table: str, column: str) -> None:
    _registered.add(EnvelopeColumn(table, column))


def envelope_columns() -> list[EnvelopeColumn]:
    """Every registered or `SealedBytes`-typed column of the loaded models, sorted."""
    # Late import: domain model modules import this module, so importing them at the top of it
    # would be circular. Loading them here registers every domain's envelope columns.
    import gateway.models  # noqa: F401

    found = set(_registered)
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
