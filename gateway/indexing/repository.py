"""Every query of the index lifecycle: the event table the applier replays."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.indexing.models import IndexEvent

# Any constant works; it names the one advisory lock that orders index event inserts.
_EVENT_LOCK_KEY = 0x53505849  # "SPXI"


def add_event(session: Session, *, person_id: int, op: str) -> None:
    """Record that a person's enrolled templates changed, in the caller's transaction.

    On PostgreSQL the transaction first takes an advisory lock held until it ends, so event
    ids become visible in increasing order and the applier can never skip over an event
    committed late with a smaller id. SQLite has a single writer, which gives the same.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK_KEY})
    session.add(IndexEvent(person_id=person_id, op=op))
    session.flush()


def events_after(session: Session, after: int, *, limit: int) -> list[tuple[int, int, str]]:
    rows = session.execute(
        select(IndexEvent.id, IndexEvent.person_id, IndexEvent.op)
        .where(IndexEvent.id > after)
        .order_by(IndexEvent.id)
        .limit(limit)
    )
    return [(eid, pid, op) for eid, pid, op in rows]


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(IndexEvent.id))) or 0)
