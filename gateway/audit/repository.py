"""Every query of the audit domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry, AuditHead

HEAD_ID = 1
_HEAD = AuditHead.__table__
# Core statements on the head row (the ORM's bulk-update path costs more than the query).
_ADVANCE = (
    update(AuditHead)
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.mac)
)
_SET_MAC = (
    update(AuditHead)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.seq == bindparam("head_seq"))
    .values(mac=bindparam("mac"))
)


def advance_head(session: Session) -> tuple[int, bytes] | None:
    """Take the head's row lock by bumping it; return (new seq, previous MAC).

    An UPDATE locks the row on PostgreSQL and takes SQLite's single writer lock, so this
    one statement serialises appends on both backends until the transaction ends.
    """
    row = session.connection().execute(_ADVANCE).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def create_head(session: Session) -> None:
    session.execute(insert(AuditHead).values(id=HEAD_ID, seq=0, mac=bytes(32)))


def set_head_mac(session: Session, *, seq: int, mac: bytes) -> None:
    session.connection().execute(_SET_MAC, {"head_seq": seq, "mac": mac})


def get_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, HEAD_ID)


def count_entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


_INSERT_ENTRY = insert(AuditEntry)  # built once: on every decision's path
# PostgreSQL: the head's new MAC set by the entry's own INSERT (a data-modifying CTE), one
# round trip where two statements would be two. Written out: SQLAlchemy would take the
# entry's `seq` and `mac` for the head's SET clause as well.
_INSERT_ENTRY_SETTING_HEAD = text(
    "WITH new_head AS (UPDATE audit_head SET mac = :mac WHERE id = :head_id AND seq = :seq) "
    "INSERT INTO audit_log (seq, at, kind, actor, subject, data, prev_mac, mac) "
    "VALUES (:seq, :at, :kind, :actor, :subject, :data, :prev_mac, :mac)"
).bindparams(
    *(bindparam(column.name, type_=column.type) for column in AuditEntry.__table__.columns),
    bindparam("head_id", HEAD_ID),
)


def insert_entry(session: Session, values: dict[str, Any]) -> None:
    """Core INSERT of the entry, and the head row's MAC set to the entry's (the head was
    advanced to its seq in this transaction)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_INSERT_ENTRY_SETTING_HEAD, values)
        return
    connection.execute(_INSERT_ENTRY, values)
    set_head_mac(session, seq=values["seq"], mac=values["mac"])


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


def browse(
    session: Session,
    *,
    kind: str | None,
    actor: str | None,
    subject: str | None,
    before: int | None,
    limit: int,
) -> list[AuditEntry]:
    """A page of entries, newest first, filtered by exact kind and by actor and subject
    prefixes (`terminal:` lists every terminal's); `before` pages by sequence number."""
    query = select(AuditEntry)
    if kind:
        query = query.where(AuditEntry.kind == kind)
    if actor:
        query = query.where(AuditEntry.actor.startswith(actor, autoescape=True))
    if subject:
        query = query.where(AuditEntry.subject.startswith(subject, autoescape=True))
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)).all())
