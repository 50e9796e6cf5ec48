"""Every query of the console: its accounts and sessions, and the payout day's totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, delete, distinct, func, select
from sqlalchemy.orm import Session

from gateway.console.models import ConsoleAccount, ConsoleSession
from gateway.payouts.models import LedgerAccount, Payout, PayoutLine
from gateway.registry.models import Household, ProgrammeMembership
from gateway.verification.models import VerificationRecord


def account(session: Session, operator_id: str) -> ConsoleAccount | None:
    return session.get(ConsoleAccount, operator_id)


def account_for_update(session: Session, operator_id: str) -> ConsoleAccount | None:
    """The account row locked (PostgreSQL) so concurrent failed sign-ins count one by one."""
    return session.scalars(
        select(ConsoleAccount).where(ConsoleAccount.operator_id == operator_id).with_for_update()
    ).first()


def add(session: Session, row: ConsoleAccount | ConsoleSession) -> None:
    session.add(row)
    session.flush()


def live_session(session: Session, token_hash: str, *, now: dt.datetime) -> ConsoleSession | None:
    return session.scalars(
        select(ConsoleSession).where(
            ConsoleSession.token_hash == token_hash, ConsoleSession.expires_at > now
        )
    ).first()


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))


def delete_sessions_of(session: Session, operator_id: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == operator_id))


def purge_sessions(session: Session, *, now: dt.datetime) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))


# -- the payout day, as the dashboard and its gauges read it --------------------------------


def households_due(session: Session) -> Sequence[Row[str, str, int]]:
    """(region, programme, households) of every programme's members not graduated: who may
    come to be paid (a member's entitlement for the day is decided at the counter)."""
    region = (Household.province_code + Household.regency_code).label("region")
    return session.execute(
        select(region, ProgrammeMembership.programme_code, func.count())
        .join(ProgrammeMembership, ProgrammeMembership.household_id == Household.id)
        .where(Household.graduated.is_(False))
        .group_by(region, ProgrammeMembership.programme_code)
    ).all()


def payouts_between(
    session: Session, *, start: dt.datetime, end: dt.datetime
) -> Sequence[Row[str, str, str, str | None, int]]:
    """(region, programme, state, failure code, households) of the payouts created in the
    window, one count per household however many lines it was paid."""
    region = (Household.province_code + Household.regency_code).label("region")
    return session.execute(
        select(
            region,
            PayoutLine.programme,
            Payout.state,
            Payout.failure_code,
            func.count(distinct(Payout.household_id)),
        )
        .join(PayoutLine, PayoutLine.payout_id == Payout.id)
        .join(Household, Household.id == Payout.household_id)
        .where(Payout.created_at >= start, Payout.created_at < end)
        .group_by(region, PayoutLine.programme, Payout.state, Payout.failure_code)
    ).all()


def accounts_with_prefix(session: Session, prefix: str) -> Sequence[LedgerAccount]:
    return session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.code.startswith(prefix))
        .order_by(LedgerAccount.code)
    ).all()


def recent_refusals(
    session: Session, terminal_id: str, *, limit: int
) -> Sequence[VerificationRecord]:
    """A terminal's latest verifications that did not match, newest first."""
    return session.scalars(
        select(VerificationRecord)
        .where(VerificationRecord.terminal_id == terminal_id, VerificationRecord.outcome != "match")
        .order_by(VerificationRecord.at.desc())
        .limit(limit)
    ).all()


def recent_fallbacks(session: Session, *, limit: int) -> Sequence[VerificationRecord]:
    """The latest supervised fallbacks (a case worker vouched), newest first."""
    return session.scalars(
        select(VerificationRecord)
        .where(VerificationRecord.fallback.is_(True))
        .order_by(VerificationRecord.at.desc())
        .limit(limit)
    ).all()
