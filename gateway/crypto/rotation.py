"""Online KEK rotation: re-wrap every envelope's data key in small committed batches.

Readers never stop: an envelope opens under its old KEK until its row is re-wrapped, and
under the new one after. Each batch is its own short transaction and each row is swapped
only if unchanged, so concurrent writers (who already use the new KEK) are never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

import gateway.models  # noqa: F401  (loads every domain's envelope columns)
from gateway.crypto.envelope import envelope_kek_id, rewrap
from gateway.crypto.keyring import KeyStore
from gateway.crypto.registry import envelope_columns, table_of
from gateway.crypto.repository import envelope_page, swap_blob
from gateway.db import unit_of_work


@dataclass
class RotationReport:
    """Per column: how many envelopes were re-wrapped, already current, or changed under us."""

    active_kek: str
    rewrapped: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def total_rewrapped(self) -> int:
        return sum(self.rewrapped.values())


def rewrap_all(
    *,
    session_factory: sessionmaker[Session],
    store: KeyStore,
    batch_size: int = 500,
    progress: Callable[[str, int], None] | None = None,
    columns: Sequence[tuple[Table, str]] | None = None,
) -> RotationReport:
    """Re-wrap envelope columns (default: every registered one) to the ring's active KEK."""
    active = store.current().active_kek
    report = RotationReport(active_kek=active)
    if columns is None:
        columns = [(table_of(c), c.column) for c in envelope_columns()]
    for table, column_name in columns:
        name = f"{table.name}.{column_name}"
        counts = {"rewrapped": 0, "current": 0, "skipped": 0}
        after: tuple[Any, ...] | None = None
        while True:
            with unit_of_work(session_factory) as session:
                page = envelope_page(
                    session, table=table, column=column_name, after=after, limit=batch_size
                )
                for key, blob in page:
                    blob = bytes(blob)
                    if envelope_kek_id(blob) == active:
                        counts["current"] += 1
                        continue
                    swapped = swap_blob(
                        session,
                        table=table,
                        column=column_name,
                        key=key,
                        old=blob,
                        new=rewrap(blob, store=store),
                    )
                    counts["rewrapped" if swapped else "skipped"] += 1
            if progress is not None:
                progress(name, len(page))
            if len(page) < batch_size:
                break
            after = page[-1][0]
        report.rewrapped[name] = counts["rewrapped"]
        report.current[name] = counts["current"]
        report.skipped[name] = counts["skipped"]
    return report
