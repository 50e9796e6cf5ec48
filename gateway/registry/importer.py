"""Streaming import of register CSV files: good rows upserted in batches, bad rows reported.

Memory stays flat whatever the file size: rows are read one by one and written in batches of
`batch_size`, each batch its own transaction, so a million-row file never sits in memory and
an interrupted import is finished by running it again (every write is an upsert keyed by the
NIK's keyed hash or the family card number).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.nik import nik_lookup_hash, seal_nik
from gateway.db import unit_of_work
from gateway.registry import repository
from gateway.registry.references import new_reference
from gateway.registry.rows import COLUMNS, REQUIRED, RegisterRow, RowError, parse_row

ERROR_REPORT_HEADER = ("line", "field", "code", "message")


class ImportFileError(RowError):
    """The file itself is unusable (no header, missing columns, not UTF-8 text)."""


@dataclass
class ImportSummary:
    """What an import did; `errors` counts bad rows, each written to the error report."""

    rows: int = 0
    imported: int = 0
    errors: int = 0
    households_created: int = 0
    households_updated: int = 0
    people_created: int = 0
    people_updated: int = 0
    memberships_added: int = 0
    seconds: float = 0.0
    first_errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "errors": self.errors,
            "households_created": self.households_created,
            "households_updated": self.households_updated,
            "people_created": self.people_created,
            "people_updated": self.people_updated,
            "memberships_added": self.memberships_added,
            "seconds": round(self.seconds, 3),
        }


def _read_rows(source: IO[bytes]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """CSV dictionaries with their physical line number, checked header first."""
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        yield from _dict_rows(text)
    finally:
        text.detach()  # leave the caller's stream open: it owns it (and reports progress)


def _dict_rows(text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, str | None]]]:
    reader = csv.DictReader(text)
    try:
        header = reader.fieldnames
    except UnicodeDecodeError:
        raise ImportFileError("file", "invalid_encoding", "The file is not UTF-8 text.") from None
    if not header:
        raise ImportFileError("file", "empty_file", "The file has no header line.")
    names = {h.strip().lower() for h in header if h}
    missing = sorted(REQUIRED - names)
    if missing:
        raise ImportFileError(
            "header", "missing_columns", f"The header lacks the columns: {', '.join(missing)}."
        )
    try:
        for row in reader:
            yield reader.line_num, row
    except UnicodeDecodeError:
        raise ImportFileError("file", "invalid_encoding", "The file is not UTF-8 text.") from None
    except csv.Error as exc:
        raise ImportFileError(
            "file", "malformed_csv", f"The CSV is malformed near line {reader.line_num}: {exc}."
        ) from None


def import_register(
    *,
    session_factory: sessionmaker[Session],
    source: IO[bytes],
    error_report: IO[str] | None = None,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
) -> ImportSummary:
    """Import a register CSV; each batch commits on its own, so re-running resumes safely."""
    started = time.perf_counter()
    today = today or dt.date.today()
    summary = ImportSummary()
    writer = csv.writer(error_report) if error_report is not None else None
    if writer is not None:
        writer.writerow(ERROR_REPORT_HEADER)
    batch: list[RegisterRow] = []

    def flush() -> None:
        if batch:
            with unit_of_work(session_factory) as session:
                _apply_batch(session=session, rows=batch, summary=summary, today=today)
            batch.clear()

    for line, raw in _read_rows(source):
        summary.rows += 1
        try:
            if None in raw:
                raise RowError("line", "extra_columns", "The line has more fields than the header.")
            batch.append(parse_row(raw, today=today))
        except RowError as exc:
            summary.errors += 1
            if len(summary.first_errors) < 100:
                summary.first_errors.append(
                    {"line": line, "field": exc.field, "code": exc.code, "message": exc.message}
                )
            if writer is not None:
                writer.writerow((line, exc.field, exc.code, exc.message))
        if len(batch) >= batch_size:
            flush()
            if progress is not None:
                progress(summary.rows)
    flush()
    if progress is not None:
        progress(summary.rows)
    summary.seconds = time.perf_counter() - started
    return summary


def _apply_batch(
    *,
    session: Session,
    rows: list[RegisterRow],
    summary: ImportSummary,
    today: dt.date,
) -> None:
    """Upsert one batch: households by card number, people by NIK hash, then memberships."""
    by_card: dict[str, RegisterRow] = {}
    by_nik: dict[bytes, RegisterRow] = {}
    for row in rows:
        by_card[row.family_card_number] = row
        by_nik[nik_lookup_hash(row.nik)] = row
    summary.imported += len(rows)

    existing_households = repository.households_by_card(session, by_card)
    new_households, changed_households = [], []
    for card, row in by_card.items():
        values = {
            "province_code": row.province_code,
            "regency_code": row.regency_code,
            "district_code": row.district_code,
            "graduated": row.graduated,
        }
        if card in existing_households:
            changed_households.append({"id": existing_households[card][0], **values})
        else:
            new_households.append(
                {
                    "reference": new_reference("hh"),
                    "family_card_number": card,
                    "graduated_on": today if row.graduated else None,
                    **values,
                }
            )
    household_ids = {card: hid for card, (hid, _ref) in existing_households.items()}
    household_ids.update(repository.insert_households(session, new_households))
    repository.update_households(session, changed_households)
    summary.households_created += len(new_households)
    summary.households_updated += len(changed_households)

    existing_people = repository.people_by_nik_hash(session, by_nik)
    new_people, changed_people = [], []
    for nik_hash, row in by_nik.items():
        values = {
            "household_id": household_ids[row.family_card_number],
            "name": row.name,
            "birth_date": row.birth_date,
            "sex": row.sex,
            "relation": row.relation,
            "pregnant": row.pregnant,
            "due_date": row.due_date,
            "school_level": row.school_level,
            "severe_disability": row.severe_disability,
        }
        if nik_hash in existing_people:
            changed_people.append({"id": existing_people[nik_hash][0], **values})
        else:
            reference = new_reference("p")
            new_people.append(
                {
                    "reference": reference,
                    "nik_hash": nik_hash,
                    "nik_ciphertext": seal_nik(row.nik, record_id=reference),
                    **values,
                }
            )
    repository.insert_people(session, new_people)
    repository.update_people(session, changed_people)
    summary.people_created += len(new_people)
    summary.people_updated += len(changed_people)

    wanted = {
        (household_ids[row.family_card_number], code) for row in rows for code in row.programmes
    }
    present = repository.memberships_of(session, {hid for hid, _ in wanted})
    added = [
        {"household_id": hid, "programme_code": code} for hid, code in sorted(wanted - present)
    ]
    repository.insert_memberships(session, added)
    summary.memberships_added += len(added)


__all__ = ["COLUMNS", "ImportFileError", "ImportSummary", "import_register"]
