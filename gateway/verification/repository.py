"""Every query of the verification domain: tokens, records, lockouts and case workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from gateway.registry.models import Household, Person
from gateway.verification.models import (
    CaseWorker,
    Lockout,
    VerificationRecord,
    VerificationToken,
)


def add_token(
    session: Session,
    *,
    token_id: str,
    person_id: int,
    household_id: int,
    terminal_id: str,
    request_digest: str,
    fallback: bool,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    session.add(
        VerificationToken(
            id=token_id,
            person_id=person_id,
            household_id=household_id,
            terminal_id=terminal_id,
            request_digest=request_digest,
            fallback=fallback,
            issued_at=issued_at,
            expires_at=expires_at,
        )
    )


def token_with_references(
    session: Session, token_id: str
) -> tuple[VerificationToken, str, str] | None:
    """The token row with its person's and household's public references."""
    row = session.execute(
        select(VerificationToken, Person.reference, Household.reference)
        .join(Person, Person.id == VerificationToken.person_id)
        .join(Household, Household.id == VerificationToken.household_id)
        .where(VerificationToken.id == token_id)
    ).first()
    if row is None:
        return None
    return row[0], row[1], row[2]


def spend_token(session: Session, *, token_id: str, now: dt.datetime) -> bool:
    """Mark a token spent if nobody has; True only for the one caller that did."""
    result = session.execute(
        update(VerificationToken)
        .where(VerificationToken.id == token_id, VerificationToken.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def add_record(session: Session, record: VerificationRecord) -> None:
    session.add(record)


def failures_since(session: Session, *, person_id: int, since: dt.datetime) -> int:
    """Failed biometric attempts for a person after `since`."""
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.person_id == person_id,
                VerificationRecord.outcome == "no_match",
                VerificationRecord.at > since,
            )
        )
        or 0
    )


def open_lockout(session: Session, person_id: int) -> Lockout | None:
    return session.scalars(
        select(Lockout).where(Lockout.person_id == person_id, Lockout.unlocked_at.is_(None))
    ).first()


def last_unlock(session: Session, person_id: int) -> dt.datetime | None:
    return session.scalar(
        select(func.max(Lockout.unlocked_at)).where(Lockout.person_id == person_id)
    )


def lockout_by_reference(session: Session, reference: str) -> Lockout | None:
    return session.scalars(select(Lockout).where(Lockout.reference == reference)).first()


def open_lockouts(session: Session, *, limit: int, offset: int) -> Sequence[Lockout]:
    return session.scalars(
        select(Lockout)
        .where(Lockout.unlocked_at.is_(None))
        .order_by(Lockout.locked_at)
        .limit(limit)
        .offset(offset)
    ).all()


def add_lockout(session: Session, lockout: Lockout) -> None:
    session.add(lockout)
    session.flush()


def fallbacks_since(session: Session, *, person_id: int, since: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.person_id == person_id,
                VerificationRecord.fallback.is_(True),
                VerificationRecord.outcome == "match",
                VerificationRecord.at >= since,
            )
        )
        or 0
    )


def case_worker_by_reference(session: Session, reference: str) -> CaseWorker | None:
    return session.scalars(select(CaseWorker).where(CaseWorker.reference == reference)).first()


def case_worker_by_operator(session: Session, operator_id: str) -> CaseWorker | None:
    return session.scalars(select(CaseWorker).where(CaseWorker.operator_id == operator_id)).first()


def add_case_worker(session: Session, worker: CaseWorker) -> None:
    session.add(worker)
    session.flush()
