"""Every query of the verification domain: tokens, records, lockouts and case workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from gateway.registry.models import Household, Person
from gateway.verification.models import (
    CaseWorker,
    Lockout,
    VerificationRecord,
    VerificationToken,
)

_PEOPLE = Person.__table__
_HOUSEHOLDS = Household.__table__
_LOCKOUTS = Lockout.__table__
# Who a verify request is about, in one Core statement: the person, their household's
# reference, and an open lockout if any (the ORM would load two entities and run a third query).
_SUBJECT = select(
    _PEOPLE.c.id,
    _PEOPLE.c.reference,
    _PEOPLE.c.household_id,
    _PEOPLE.c.merged_into_id,
    _HOUSEHOLDS.c.reference.label("household_reference"),
    (_HOUSEHOLDS.c.province_code + _HOUSEHOLDS.c.regency_code).label("region"),
    select(_LOCKOUTS.c.reference)
    .where(
        _LOCKOUTS.c.person_id == _PEOPLE.c.id,
        _LOCKOUTS.c.unlocked_at.is_(None),
        _LOCKOUTS.c.scope == "home",
    )
    .limit(1)
    .scalar_subquery()
    .label("lockout"),
    select(_LOCKOUTS.c.reference)
    .where(
        _LOCKOUTS.c.person_id == _PEOPLE.c.id,
        _LOCKOUTS.c.unlocked_at.is_(None),
        _LOCKOUTS.c.scope == "away",
    )
    .limit(1)
    .scalar_subquery()
    .label("away_lockout"),
).join_from(_PEOPLE, _HOUSEHOLDS, _HOUSEHOLDS.c.id == _PEOPLE.c.household_id)


# The statements on every verification's path are built once: a statement built per call
# pays for its cache key again each time.
_SUBJECT_BY_NIK_HASH = _SUBJECT.where(_PEOPLE.c.nik_hash == bindparam("nik_hash"))
_SUBJECT_BY_ID = _SUBJECT.where(_PEOPLE.c.id == bindparam("person_id"))
_OPEN_LOCKOUT = (
    select(_LOCKOUTS.c.reference)
    .where(
        _LOCKOUTS.c.person_id == bindparam("person_id"),
        _LOCKOUTS.c.unlocked_at.is_(None),
        _LOCKOUTS.c.scope.in_(bindparam("scopes", expanding=True)),
    )
    .limit(1)
)
_INSERT_TOKEN = insert(VerificationToken)
_TOKENS = cast(Table, VerificationToken.__table__)
_SPEND_TOKEN = (
    update(_TOKENS)
    .where(
        _TOKENS.c.id == bindparam("token_id"),
        _TOKENS.c.terminal_id == bindparam("for_terminal"),
        _TOKENS.c.expires_at > bindparam("now"),
        _TOKENS.c.consumed_at.is_(None),
    )
    .values(consumed_at=bindparam("now"))
    .returning(
        _TOKENS.c.person_id,
        _TOKENS.c.household_id,
        _TOKENS.c.request_digest,
        _TOKENS.c.fallback,
        _TOKENS.c.issued_at,
        _TOKENS.c.expires_at,
    )
)
_TOKEN_STATE = select(_TOKENS.c.terminal_id, _TOKENS.c.expires_at).where(
    _TOKENS.c.id == bindparam("token_id")
)
_INSERT_RECORD = insert(VerificationRecord)


def subject_by_nik_hash(session: Session, nik_hash: bytes) -> Row[Any] | None:
    """(id, reference, household_id, merged_into_id, household_reference, region, lockout,
    away_lockout)."""
    return session.connection().execute(_SUBJECT_BY_NIK_HASH, {"nik_hash": nik_hash}).first()


def subject_by_id(session: Session, person_id: int) -> Row[Any] | None:
    return session.connection().execute(_SUBJECT_BY_ID, {"person_id": person_id}).first()


def insert_token(session: Session, values: dict[str, Any]) -> None:
    """A Core INSERT: a verification writes its rows without the ORM's flush machinery."""
    session.connection().execute(_INSERT_TOKEN, values)


def insert_record(session: Session, values: dict[str, Any]) -> None:
    session.connection().execute(_INSERT_RECORD, values)


def spend_token(
    session: Session, *, token_id: str, terminal_id: str, now: dt.datetime
) -> Row[Any] | None:
    """Mark the token spent if it is this terminal's, unexpired and unspent, in one UPDATE;
    its row for the one caller that did, None for everyone else."""
    return (
        session.connection()
        .execute(_SPEND_TOKEN, {"token_id": token_id, "for_terminal": terminal_id, "now": now})
        .first()
    )


def token_state(session: Session, token_id: str) -> Row[Any] | None:
    """(terminal_id, expires_at) of a token: why `spend_token` refused it."""
    return session.connection().execute(_TOKEN_STATE, {"token_id": token_id}).first()


def add_record(session: Session, record: VerificationRecord) -> None:
    session.add(record)


def failures_since(
    session: Session, *, person_id: int, since: dt.datetime, home_region: str, home: bool
) -> int:
    """Failed biometric attempts for a person after `since`, at terminals of their home
    region (`home`) or elsewhere."""
    at_home = VerificationRecord.terminal_region == home_region
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.person_id == person_id,
                VerificationRecord.outcome == "no_match",
                VerificationRecord.at > since,
                at_home if home else or_(~at_home, VerificationRecord.terminal_region.is_(None)),
            )
        )
        or 0
    )


def unknown_nik_failures_since(session: Session, *, nik_hash: bytes, since: dt.datetime) -> int:
    """Failed attempts on a NIK that is not in the register, after `since`."""
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.nik_hash == nik_hash,
                VerificationRecord.outcome == "no_match",
                VerificationRecord.at > since,
            )
        )
        or 0
    )


def terminal_failures_since(session: Session, *, terminal_id: str, since: dt.datetime) -> int:
    """Failed 1:1 and e-KTP attempts by one terminal, over every NIK, after `since`."""
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.terminal_id == terminal_id,
                VerificationRecord.at > since,
                VerificationRecord.outcome == "no_match",
                VerificationRecord.mode.in_(("1:1", "ektp")),
            )
        )
        or 0
    )


def open_lockout_reference(
    session: Session, person_id: int, scopes: Sequence[str] = ("home", "away")
) -> str | None:
    """An open lockout of the person in one of `scopes` (see `Lockout.scope`)."""
    return (
        session.connection()
        .execute(_OPEN_LOCKOUT, {"person_id": person_id, "scopes": list(scopes)})
        .scalar()
    )


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
