"""Every query of enrollment: sessions and the adjudication queue (templates: biometrics)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.biometrics.models import BiometricCapture, BiometricTemplate
from gateway.enrollment.models import Adjudication, Enrollment


def add(
    session: Session, row: Enrollment | BiometricTemplate | BiometricCapture | Adjudication
) -> None:
    session.add(row)


def flush(session: Session) -> None:
    session.flush()


def enrollment_by_reference(session: Session, reference: str) -> Enrollment | None:
    return session.scalars(select(Enrollment).where(Enrollment.reference == reference)).first()


def enrollment_by_id(session: Session, enrollment_id: int) -> Enrollment | None:
    return session.get(Enrollment, enrollment_id)


def pending_enrollment_of(session: Session, person_id: int) -> Enrollment | None:
    return session.scalars(
        select(Enrollment).where(
            Enrollment.person_id == person_id,
            Enrollment.status.in_(("pending_adjudication", "pending_update")),
        )
    ).first()


def adjudication_by_reference(session: Session, reference: str) -> Adjudication | None:
    return session.scalars(select(Adjudication).where(Adjudication.reference == reference)).first()


def adjudications(
    session: Session, *, status: str | None, limit: int, offset: int
) -> Sequence[Adjudication]:
    query = select(Adjudication).order_by(Adjudication.created_at, Adjudication.id)
    if status is not None:
        query = query.where(Adjudication.status == status)
    return session.scalars(query.limit(limit).offset(offset)).all()
