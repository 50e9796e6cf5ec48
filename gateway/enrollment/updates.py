"""Biometric updates: changing the templates of a person who is already enrolled.

A valid terminal key proves which terminal asks, not that it may change who a person is. So
an update takes effect at once only when the request's own captures match the person's
current templates (the person is there, and is who the register says). Otherwise the old
templates stay active and the update waits for a case worker of the person's home region,
then for an ops supervisor's second decision (four eyes). Every step is audited, and the
household is told through the notification outbox, since the victim of a takeover is the
one person who would notice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gateway.audit.service import append
from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import Sample
from gateway.biometrics.engine import BiometricEngine
from gateway.db import utcnow
from gateway.enrollment import repository
from gateway.enrollment.models import Enrollment
from gateway.enrollment.templates import activate, compare_current
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.registry import repository as registry_repository
from gateway.registry.models import Household, Person
from gateway.registry.references import new_reference
from gateway.trust import anomalies, notifications
from gateway.trust import repository as trust_repository
from gateway.trust.anomalies import AlertKind, AnomalyPolicy
from gateway.trust.models import BiometricUpdate
from gateway.trust.schemas import BiometricUpdateView
from gateway.verification import case_workers

AUDIT_KIND = "biometric_update"
NOTIFY_KIND = "biometric_update"


class UnknownUpdate(NotFound):
    code = "unknown_biometric_update"


class UpdateNotAwaiting(Conflict):
    code = "biometric_update_not_awaiting"


class SameReviewer(Forbidden):
    code = "four_eyes_required"


def proof_fmr(
    *, session: Session, engine: BiometricEngine, person_id: int, samples: Sequence[Sample]
) -> float | None:
    """The fused FMR of the request's captures against the person's current templates."""
    comparisons = compare_current(
        session=session, engine=engine, person_id=person_id, samples=samples
    )
    return engine.fuse(comparisons).fmr if comparisons else None


def open_update(
    *,
    session: Session,
    enrollment: Enrollment,
    person: Person,
    household: Household,
    terminal_id: str,
    terminal_region: str,
    fmr: float | None,
    proven: bool,
    anomaly: AnomalyPolicy,
) -> BiometricUpdate:
    """Record an update (proven, or held for review), audit it and notify the household."""
    update = BiometricUpdate(
        reference=new_reference("upd"),
        enrollment_id=enrollment.id,
        person_id=person.id,
        region=household.region,
        terminal_id=terminal_id,
        status="self_proven" if proven else "awaiting_case_worker",
        proof_fmr=fmr,
    )
    trust_repository.add(session, update)
    _announce(session, update, person, household, actor=f"terminal:{terminal_id}")
    anomalies.observe(
        session=session,
        kind=AlertKind.biometric_update,
        terminal_id=terminal_id,
        region=terminal_region,
        now=utcnow(),
        policy=anomaly,
    )
    return update


def _announce(
    session: Session, update: BiometricUpdate, person: Person, household: Household, *, actor: str
) -> None:
    data = {"update": update.reference, "status": update.status, "terminal": update.terminal_id}
    notifications.notify(
        session,
        household_id=household.id,
        kind=NOTIFY_KIND,
        payload={**data, "person": person.reference},
    )
    append(
        session=session,
        kind=AUDIT_KIND,
        actor=actor,
        subject=f"person:{person.reference}",
        data={**data, "proof_fmr": update.proof_fmr},
    )


def _parts(session: Session, update: BiometricUpdate) -> tuple[Enrollment, Person, Household]:
    enrollment = repository.enrollment_by_id(session, update.enrollment_id)
    person = registry_repository.person_by_id(session, update.person_id)
    assert enrollment is not None and person is not None
    household = registry_repository.household_by_id(session, person.household_id)
    assert household is not None
    return enrollment, person, household


def _awaiting(session: Session, reference: str, status: str) -> BiometricUpdate:
    update = trust_repository.update_by_reference(session, reference)
    if update is None:
        raise UnknownUpdate("No biometric update has this reference.")
    if update.status != status:
        raise UpdateNotAwaiting(f"This update is {update.status}, not {status}.")
    return update


def _refuse(session: Session, update: BiometricUpdate, enrollment: Enrollment) -> None:
    template_repository.delete_templates_of_enrollment(session, enrollment.id)
    enrollment.status = "refused"
    enrollment.decided_at = utcnow()
    update.status = "refused"


def review(
    *, session: Session, reference: str, operator_id: str, approve: bool, reason: str
) -> BiometricUpdateView:
    """The first pair of eyes: a registered, active case worker of the person's region."""
    update = _awaiting(session, reference, "awaiting_case_worker")
    case_workers.require_of_region(session, operator_id=operator_id, region=update.region)
    enrollment, person, household = _parts(session, update)
    update.case_worker_id = operator_id
    update.case_worker_reason = reason
    update.case_worker_at = utcnow()
    if approve:
        update.status = "awaiting_supervisor"
    else:
        _refuse(session, update, enrollment)
    _announce(session, update, person, household, actor=f"operator:{operator_id}")
    return view(update)


def decide(
    *, session: Session, reference: str, supervisor_id: str, approve: bool, reason: str
) -> BiometricUpdateView:
    """The second pair of eyes: an ops supervisor other than the reviewing case worker."""
    update = _awaiting(session, reference, "awaiting_supervisor")
    if supervisor_id == update.case_worker_id:
        raise SameReviewer("The supervisor must be someone other than the reviewing case worker.")
    enrollment, person, household = _parts(session, update)
    update.supervisor_id = supervisor_id
    update.supervisor_reason = reason
    update.supervisor_at = utcnow()
    if approve:
        activate(session=session, enrollment=enrollment)
        update.status = "approved"
    else:
        _refuse(session, update, enrollment)
    _announce(session, update, person, household, actor=f"operator:{supervisor_id}")
    return view(update)


def view(update: BiometricUpdate) -> BiometricUpdateView:
    return BiometricUpdateView(
        reference=update.reference,
        status=update.status,
        region=update.region,
        terminal=update.terminal_id,
        proof_fmr=update.proof_fmr,
        case_worker=update.case_worker_id,
        supervisor=update.supervisor_id,
        created_at=update.created_at,
    )


def list_updates(
    *, session: Session, status: str | None, region: str | None, limit: int, offset: int
) -> list[BiometricUpdateView]:
    return [
        view(u)
        for u in trust_repository.updates(
            session, status=status, region=region, limit=limit, offset=offset
        )
    ]
