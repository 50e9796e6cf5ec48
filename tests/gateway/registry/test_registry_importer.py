"""Register CSV import: good rows in, bad rows reported by line, re-import idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.keyring import KeyStore
from gateway.crypto.nik import nik_lookup_hash, open_nik
from gateway.registry.importer import import_register
from gateway.registry.models import Household, Person, ProgrammeMembership
from gateway.registry.rows import COLUMNS

TODAY = dt.date(2026, 11, 27)
GOOD = [
    # KK, prov, reg, dist, graduated, NIK, name, birth, sex, relation, pregnant, due, school,
    # disability, programmes
    (
        "3201020101100001",
        "32",
        "01",
        "02",
        "false",
        "3201024506900001",
        "Siti",
        "1990-06-05",
        "F",
        "head",
        "yes",
        "2027-02-01",
        "",
        "false",
        "PKH;BPNT",
    ),
    (
        "3201020101100001",
        "32",
        "01",
        "02",
        "false",
        "3201021203150002",
        "Budi",
        "2015-03-12",
        "M",
        "child",
        "",
        "",
        "primary",
        "",
        "PKH",
    ),
    (
        "3578010101100002",
        "35",
        "78",
        "01",
        "true",
        "3578011212500042",
        "Ahmad",
        "1950-12-12",
        "L",
        "head",
        "",
        "",
        "",
        "true",
        "",
    ),
]
BAD = [
    # wrong NIK birth date vs record
    (
        "3201020101100003",
        "32",
        "01",
        "02",
        "",
        "3201024506900009",
        "Ani",
        "1990-06-06",
        "F",
        "head",
        "",
        "",
        "",
        "",
        "",
    ),
    # man recorded pregnant
    (
        "3201020101100003",
        "32",
        "01",
        "02",
        "",
        "3201020506900010",
        "Dedi",
        "1990-06-05",
        "M",
        "spouse",
        "yes",
        "2027-01-01",
        "",
        "",
        "",
    ),
    # unknown relation
    (
        "3201020101100003",
        "32",
        "01",
        "02",
        "",
        "3201020506900011",
        "Eko",
        "1990-06-05",
        "M",
        "cousin",
        "",
        "",
        "",
        "",
        "",
    ),
]


def _csv(rows: list[tuple[str, ...]]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Household)) or 0,
        session.scalar(select(func.count()).select_from(Person)) or 0,
        session.scalar(select(func.count()).select_from(ProgrammeMembership)) or 0,
    )


def test_good_rows_imported_and_bad_rows_reported_by_line(
    session_factory: sessionmaker[Session], key_store: KeyStore
) -> None:
    report = io.StringIO()
    summary = import_register(
        session_factory=session_factory,
        source=_csv(GOOD[:2] + BAD + GOOD[2:]),
        error_report=report,
        batch_size=2,
        today=TODAY,
    )
    assert (summary.rows, summary.imported, summary.errors) == (6, 3, 3)
    lines = list(csv.reader(io.StringIO(report.getvalue())))
    assert lines[0] == ["line", "field", "code", "message"]
    assert [(row[0], row[1], row[2]) for row in lines[1:]] == [
        ("4", "nik", "invalid_nik_birth_date"),
        ("5", "pregnant", "invalid_pregnant"),
        ("6", "relation", "invalid_relation"),
    ]
    assert "3201024506900009" not in report.getvalue()
    with session_factory() as session:
        assert _counts(session) == (2, 3, 2)
        siti = session.scalars(
            select(Person).where(Person.nik_hash == nik_lookup_hash("3201024506900001"))
        ).one()
        assert siti.pregnant and siti.due_date == dt.date(2027, 2, 1)
        assert open_nik(siti.nik_ciphertext, record_id=siti.reference) == "3201024506900001"
        assert b"3201024506900001" not in siti.nik_ciphertext
        graduated = session.scalars(
            select(Household).where(Household.family_card_number == "3578010101100002")
        ).one()
        assert graduated.graduated and graduated.graduated_on == TODAY


def test_reimport_is_idempotent_and_updates_attributes(
    session_factory: sessionmaker[Session], key_store: KeyStore
) -> None:
    import_register(session_factory=session_factory, source=_csv(GOOD), today=TODAY)
    with session_factory() as session:
        before = _counts(session)
        references = set(session.scalars(select(Person.reference)))
    changed = [list(row) for row in GOOD]
    changed[0][10], changed[0][11] = "", ""  # Siti gave birth
    summary = import_register(
        session_factory=session_factory, source=_csv([tuple(r) for r in changed]), today=TODAY
    )
    assert summary.people_created == 0 and summary.people_updated == 3
    assert summary.households_created == 0 and summary.memberships_added == 0
    with session_factory() as session:
        assert _counts(session) == before
        assert set(session.scalars(select(Person.reference))) == references
        siti = session.scalars(
            select(Person).where(Person.nik_hash == nik_lookup_hash("3201024506900001"))
        ).one()
        assert not siti.pregnant and siti.due_date is None


def test_file_without_required_columns_is_refused(
    session_factory: sessionmaker[Session], key_store: KeyStore
) -> None:
    import pytest

    from gateway.registry.importer import ImportFileError

    with pytest.raises(ImportFileError) as caught:
        import_register(
            session_factory=session_factory, source=io.BytesIO(b"nik,name\n1,2\n"), today=TODAY
        )
    assert caught.value.code == "missing_columns"
    with pytest.raises(ImportFileError) as caught:
        import_register(session_factory=session_factory, source=io.BytesIO(b""), today=TODAY)
    assert caught.value.code == "empty_file"
