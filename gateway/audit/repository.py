"""Every query of the audit domain."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry, AuditHead

HEAD_ID = 1


def advance_head(session: Session) -> tuple[int, bytes] | None:
    """Take the head's row lock by bumping it; return (new seq, previous MAC).

    An UPDATE locks the row on PostgreSQL and takes SQLite's single writer lock, so this
    one statement serialises appends on both backends until the transaction ends.
    """
    row = session.execute(
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.mac)
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def create_head(session: Session) -> None:
    session.execute(insert(AuditHead).values(id=HEAD_ID, seq=0, mac=bytes(32)))


def set_head_mac(session: Session, *, seq: int, mac: bytes) -> None:
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID, AuditHead.seq == seq).values(mac=mac)
    )


def get_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, HEAD_ID)


def count_entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def add_entry(session: Session, entry: AuditEntry) -> None:
    session.add(entry)
    session.flush()


def iter_entries(session: Session, *, batch: int = 1000) -> Iterator[AuditEntry]:
    """All entries in sequence order, fetched in pages so huge logs need little memory."""
    after = 0
    while True:
        page = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        ).all()
        yield from page
        if len(page) < batch:
            return
        after = page[-1].seq
        session.expunge_all()


def entries_for_subject(session: Session, subject: str, *, limit: int = 100) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject == subject)
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return list(session.scalars(query).all())
