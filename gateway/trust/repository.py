"""Every query of the trust domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.payouts.models import Payout
from gateway.registry.models import Household
from gateway.trust.models import (
    AnomalyAlert,
    BiometricUpdate,
    CaseWorkerApproval,
    CashOutApproval,
    NotificationEvent,
)
from gateway.verification.models import VerificationRecord

Row = BiometricUpdate | CaseWorkerApproval | CashOutApproval | NotificationEvent | AnomalyAlert


def add(session: Session, row: Row) -> None:
    session.add(row)
    session.flush()


def update_by_reference(session: Session, reference: str) -> BiometricUpdate | None:
    return session.scalars(
        select(BiometricUpdate).where(BiometricUpdate.reference == reference)
    ).first()


def updates(
    session: Session, *, status: str | None, region: str | None, limit: int, offset: int
) -> Sequence[BiometricUpdate]:
    query = select(BiometricUpdate).order_by(BiometricUpdate.created_at, BiometricUpdate.id)
    if status is not None:
        query = query.where(BiometricUpdate.status == status)
    if region is not None:
        query = query.where(BiometricUpdate.region == region)
    return session.scalars(query.limit(limit).offset(offset)).all()


def update_counts(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(BiometricUpdate.status, func.count()).group_by(BiometricUpdate.status)
    ).all()
    return [(status, int(count)) for status, count in rows]


def approval_by_reference(session: Session, reference: str) -> CaseWorkerApproval | None:
    return session.scalars(
        select(CaseWorkerApproval).where(CaseWorkerApproval.reference == reference)
    ).first()


def cash_out_approval(session: Session, token_id: str) -> CashOutApproval | None:
    return session.scalars(
        select(CashOutApproval).where(CashOutApproval.token_id == token_id)
    ).first()


def verification_by_reference(session: Session, reference: str) -> VerificationRecord | None:
    return session.scalars(
        select(VerificationRecord).where(VerificationRecord.reference == reference)
    ).first()


def verification_of_token(session: Session, token_id: str) -> VerificationRecord | None:
    return session.scalars(
        select(VerificationRecord).where(VerificationRecord.token_id == token_id)
    ).first()


def unsent_notifications(session: Session, *, limit: int) -> Sequence[NotificationEvent]:
    return session.scalars(
        select(NotificationEvent)
        .where(NotificationEvent.sent_at.is_(None))
        .order_by(NotificationEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def notifications_of_household(session: Session, household_id: int) -> Sequence[NotificationEvent]:
    return session.scalars(
        select(NotificationEvent)
        .where(NotificationEvent.household_id == household_id)
        .order_by(NotificationEvent.id)
    ).all()


def fallbacks_by_case_worker(session: Session, *, case_worker_id: int, since: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(
                VerificationRecord.case_worker_id == case_worker_id,
                VerificationRecord.outcome == "match",
                VerificationRecord.at >= since,
            )
        )
        or 0
    )


def away_payouts(
    session: Session, *, terminal_id: str, region: str, since: dt.datetime, until: dt.datetime
) -> int:
    """Payouts (not voided) by a terminal to households outside its region, in [since, until)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Payout)
            .join(Household, Household.id == Payout.household_id)
            .where(
                Payout.terminal_id == terminal_id,
                Payout.state != "voided",
                Payout.created_at >= since,
                Payout.created_at < until,
                or_(Household.province_code != region[:2], Household.regency_code != region[2:]),
            )
        )
        or 0
    )


def biometric_updates_by_terminal(
    session: Session, *, terminal_id: str, since: dt.datetime, until: dt.datetime
) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(BiometricUpdate)
            .where(
                BiometricUpdate.terminal_id == terminal_id,
                BiometricUpdate.created_at >= since,
                BiometricUpdate.created_at < until,
            )
        )
        or 0
    )


def verifications_by_terminal(
    session: Session,
    *,
    terminal_id: str,
    since: dt.datetime,
    until: dt.datetime,
    fallback: bool | None = None,
    outcome: str | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(VerificationRecord)
        .where(
            VerificationRecord.terminal_id == terminal_id,
            VerificationRecord.at >= since,
            VerificationRecord.at < until,
        )
    )
    if fallback is not None:
        query = query.where(VerificationRecord.fallback.is_(fallback))
    if outcome is not None:
        query = query.where(VerificationRecord.outcome == outcome)
    return session.scalar(query) or 0


def alert_of(session: Session, *, terminal_id: str, kind: str, day: dt.date) -> AnomalyAlert | None:
    return session.scalars(
        select(AnomalyAlert).where(
            AnomalyAlert.terminal_id == terminal_id,
            AnomalyAlert.kind == kind,
            AnomalyAlert.day == day,
        )
    ).first()


def alerts(
    session: Session, *, since: dt.date, kind: str | None, limit: int, offset: int
) -> Sequence[AnomalyAlert]:
    query = select(AnomalyAlert).where(AnomalyAlert.day >= since)
    if kind is not None:
        query = query.where(AnomalyAlert.kind == kind)
    return session.scalars(
        query.order_by(AnomalyAlert.day.desc(), AnomalyAlert.id).limit(limit).offset(offset)
    ).all()
