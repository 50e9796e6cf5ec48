"""Enrollment: quality gate, de-duplication against everyone enrolled, adjudication.

A new enrollment is searched 1:N nationwide, per modality, before anything is activated. A
candidate whose FPIR over the gallery is below the duplicate threshold holds the enrollment
for a human adjudicator instead of enrolling it: a missed duplicate costs money every month,
a false alarm one review. Templates are sealed in envelopes bound to their row, and the
index event is written in the same transaction, so the index can never disagree with the
database for longer than it takes the applier to catch up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import (
    CaptureContext,
    Opened,
    Sample,
    decode_captures,
    open_captures,
    read_captures,
)
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.models import BiometricCapture, BiometricTemplate, capture_aad, template_aad
from gateway.biometrics.schemas import FingerCapture
from gateway.crypto.envelope import seal
from gateway.db import utcnow
from gateway.enrollment import repository
from gateway.enrollment.models import Adjudication, Enrollment
from gateway.enrollment.schemas import (
    AdjudicationView,
    DuplicateCandidate,
    EnrollmentRequest,
    EnrollmentResult,
    EnrollmentStatus,
)
from gateway.enrollment.templates import activate
from gateway.enrollment.updates import open_update, proof_fmr
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.indexing import repository as index_repository
from gateway.indexing.applier import IndexApplier
from gateway.registry import repository as registry_repository
from gateway.registry.models import Person
from gateway.registry.references import new_reference
from gateway.registry.service import canonical, find_person, household_of
from gateway.trust.anomalies import AnomalyPolicy


class EnrollmentPending(Conflict):
    code = "enrollment_pending"


class UnknownAdjudication(NotFound):
    code = "unknown_adjudication"


class AdjudicationClosed(Conflict):
    code = "adjudication_decided"


class InvalidDecision(InvalidInput):
    code = "invalid_decision"


@dataclass(frozen=True)
class _Hit:
    person_id: int
    score: float
    fmr: float
    fpir: float
    modality: str


def find_duplicates(
    *,
    indexes: IndexApplier,
    samples: Sequence[Sample],
    exclude: set[int],
    target_fpir: float,
) -> tuple[list[_Hit], list[int]]:
    """Enrolled people (other than `exclude`) matching the samples nationwide, best first,
    and the regions some of whose persons could not be searched (a partial answer)."""
    hits: dict[int, _Hit] = {}
    unsearched: set[int] = set()
    for modality in ("finger", "iris"):
        probe = {s.position: s.template for s in samples if s.modality == modality}
        if not probe:
            continue
        result = indexes.search(modality, probe, region=None, limit=5)
        unsearched.update(r.key for r in result.unsearched)
        for c in result.candidates:
            if c.person_id in exclude or c.fpir > target_fpir:
                continue
            previous = hits.get(c.person_id)
            if previous is None or c.fpir < previous.fpir:
                hits[c.person_id] = _Hit(c.person_id, c.score, c.fmr, c.fpir, modality)
    return sorted(hits.values(), key=lambda h: h.fpir), sorted(unsearched)


def _store_templates(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Person,
    enrollment: Enrollment,
    samples: Sequence[Sample],
    captures: Sequence[Opened],
) -> None:
    """Seal each sample's template, with its extractor recorded; and each finger capture it
    came from, in `captures`, so the template can be extracted again by a later extractor."""
    for sample in samples:
        reference = new_reference("tpl")
        aad = template_aad(
            reference=reference,
            person_id=person.id,
            modality=sample.modality,
            position=sample.position,
        )
        repository.add(
            session,
            BiometricTemplate(
                reference=reference,
                person_id=person.id,
                enrollment_id=enrollment.id,
                modality=sample.modality,
                position=sample.position,
                quality=sample.quality,
                envelope=seal(engine.to_bytes(sample.modality, sample.template), aad=aad),
                active=False,
                extractor=engine.extractor_of(sample.modality, sample.template),
            ),
        )
    for item in captures:
        payload = item.payload
        if not isinstance(payload, FingerCapture) or payload.format == "iso19794-2":
            continue  # a minutiae record is a template already: no image to extract again
        key = capture_aad(
            enrollment_id=enrollment.id,
            person_id=person.id,
            modality="finger",
            position=payload.position,
        )
        repository.add(
            session,
            BiometricCapture(
                enrollment_id=enrollment.id,
                person_id=person.id,
                modality="finger",
                position=payload.position,
                format=payload.format,
                resolution_dpi=payload.resolution_dpi,
                envelope=seal(item.raw, aad=key),
            ),
        )
    repository.flush(session)


def enroll(
    *,
    session: Session,
    engine: BiometricEngine,
    indexes: IndexApplier,
    request: EnrollmentRequest,
    ctx: CaptureContext,
    min_quality: int,
    duplicate_target_fpir: float,
    update_target_fmr: float,
    anomaly: AnomalyPolicy,
    keep_captures: bool = True,
) -> EnrollmentResult:
    """Enroll a registered person's captures, or hold them for adjudication.

    A person already enrolled is a biometric update: it takes effect only when the captures
    (with `request.proof`) match the current templates at `update_target_fmr`; otherwise it
    is held for a case worker and a supervisor, and the current templates stay active.
    The caller brings `indexes` up to date first, outside this transaction (on SQLite a
    second connection could not read while this one holds the write lock). With
    `keep_captures`, finger images are kept sealed beside their templates for re-extraction.
    """
    person = find_person(session=session, nik=request.nik)
    household = household_of(session=session, person=person)
    if repository.pending_enrollment_of(session, person.id) is not None:
        raise EnrollmentPending(
            "An earlier enrollment of this person awaits adjudication; it must be decided first."
        )
    opened = open_captures(request, ctx=ctx)
    samples, reports = decode_captures(opened, min_quality=min_quality)
    is_update = bool(template_repository.active_templates(session, person.id))
    fmr: float | None = None
    if is_update:
        proof = list(samples)
        if request.proof is not None:
            proof += read_captures(request.proof, ctx=ctx, min_quality=min_quality)[0]
        fmr = proof_fmr(session=session, engine=engine, person_id=person.id, samples=proof)
    held_update = is_update and (fmr is None or fmr > update_target_fmr)
    status: EnrollmentStatus
    hits, unsearched = find_duplicates(
        indexes=indexes, samples=samples, exclude={person.id}, target_fpir=duplicate_target_fpir
    )
    if held_update:
        status = "pending_update"  # no duplicate adjudication: the update review comes first
    elif hits or unsearched:
        # A search that could not cover everyone is no proof of "no duplicate": held.
        status = "pending_adjudication"
    else:
        status = "enrolled"
    enrollment = Enrollment(
        reference=new_reference("enr"),
        person_id=person.id,
        status=status,
        terminal_id=ctx.terminal.id,
    )
    repository.add(session, enrollment)
    repository.flush(session)
    _store_templates(
        session=session,
        engine=engine,
        person=person,
        enrollment=enrollment,
        samples=samples,
        captures=opened if keep_captures else (),
    )
    update_ref = None
    if is_update:
        update_ref = open_update(
            session=session,
            enrollment=enrollment,
            person=person,
            household=household,
            terminal_id=ctx.terminal.id,
            terminal_region=ctx.terminal.region,
            fmr=fmr,
            proven=not held_update,
            anomaly=anomaly,
        ).reference
    adjudication_ref = None
    if status == "pending_adjudication":
        candidates = []
        for hit in hits:
            other = registry_repository.person_by_id(session, hit.person_id)
            if other is None:
                continue
            candidates.append(
                {
                    "person": other.reference,
                    "person_id": other.id,
                    "household": household_of(session=session, person=other).reference,
                    "score": hit.score,
                    "fmr": hit.fmr,
                    "fpir": hit.fpir,
                    "modality": hit.modality,
                }
            )
        adjudication = Adjudication(
            reference=new_reference("adj"), enrollment_id=enrollment.id, candidates=candidates
        )
        repository.add(session, adjudication)
        adjudication_ref = adjudication.reference
    elif status == "enrolled":
        activate(session=session, enrollment=enrollment)
    append(
        session=session,
        kind=AuditKind.enrollment,
        actor=f"terminal:{ctx.terminal.id}",
        subject=f"person:{person.reference}",
        data={
            "enrollment": enrollment.reference,
            "status": enrollment.status,
            "captures": [s.label for s in samples],
            "quality": {s.label: s.quality for s in samples},
            "duplicates": len(hits),
            "update": update_ref,
            # Held because part of the register was not searched: which regions.
            **({"unsearched_regions": unsearched} if unsearched else {}),
        },
    )
    return EnrollmentResult(
        enrollment=enrollment.reference,
        status=status,
        update=update_ref,
        person=person.reference,
        household=household.reference,
        captures=reports,
        adjudication=adjudication_ref,
    )


def _view(session: Session, adjudication: Adjudication) -> AdjudicationView:
    enrollment = repository.enrollment_by_id(session, adjudication.enrollment_id)
    assert enrollment is not None
    person = registry_repository.person_by_id(session, enrollment.person_id)
    assert person is not None
    return AdjudicationView(
        reference=adjudication.reference,
        enrollment=enrollment.reference,
        person=person.reference,
        status=adjudication.status,
        candidates=[
            DuplicateCandidate(
                person=c["person"],
                household=c["household"],
                score=c["score"],
                fmr=c["fmr"],
                modality=c["modality"],
            )
            for c in adjudication.candidates
        ],
        decision=adjudication.decision,
        adjudicator=adjudication.adjudicator,
        reason=adjudication.reason,
        created_at=adjudication.created_at,
        decided_at=adjudication.decided_at,
    )


def list_adjudications(
    *, session: Session, status: str | None, limit: int, offset: int
) -> list[AdjudicationView]:
    return [
        _view(session, a)
        for a in repository.adjudications(session, status=status, limit=limit, offset=offset)
    ]


def get_adjudication(*, session: Session, reference: str) -> AdjudicationView:
    adjudication = repository.adjudication_by_reference(session, reference)
    if adjudication is None:
        raise UnknownAdjudication("No adjudication has this reference.")
    return _view(session, adjudication)


def decide(
    *,
    session: Session,
    reference: str,
    decision: str,
    candidate: str | None,
    reason: str,
    adjudicator: str,
) -> AdjudicationView:
    """Apply an adjudicator's decision: enroll (different people), merge or refuse (same)."""
    adjudication = repository.adjudication_by_reference(session, reference)
    if adjudication is None:
        raise UnknownAdjudication("No adjudication has this reference.")
    if adjudication.status != "open":
        raise AdjudicationClosed("This adjudication has already been decided.")
    enrollment = repository.enrollment_by_id(session, adjudication.enrollment_id)
    assert enrollment is not None
    person = registry_repository.person_by_id(session, enrollment.person_id)
    assert person is not None
    data: dict[str, Any] = {"enrollment": enrollment.reference, "decision": decision}
    if decision == "enroll":
        activate(session=session, enrollment=enrollment)
    elif decision == "merge":
        match = [c for c in adjudication.candidates if c["person"] == candidate]
        if not match:
            raise InvalidDecision("A merge names one of the adjudication's candidates.")
        survivor = registry_repository.person_by_id(session, int(match[0]["person_id"]))
        if survivor is None or canonical(session=session, person=survivor).id == person.id:
            raise InvalidDecision("The candidate cannot absorb this person.")
        person.merged_into_id = survivor.id
        template_repository.delete_templates_of_enrollment(session, enrollment.id)
        for modality in ("finger", "iris"):
            template_repository.deactivate_templates(
                session, person_id=person.id, modality=modality, positions=list(range(16))
            )
        enrollment.status = "merged"
        enrollment.decided_at = utcnow()
        index_repository.add_event(session, person_id=person.id, op="remove")
        data["merged_into"] = survivor.reference
    elif decision == "refuse":
        template_repository.delete_templates_of_enrollment(session, enrollment.id)
        enrollment.status = "refused"
        enrollment.decided_at = utcnow()
    else:  # the schema's Literal makes this unreachable through the API
        raise InvalidDecision("The decision must be merge, refuse or enroll.")
    adjudication.status = "decided"
    adjudication.decision = decision
    adjudication.adjudicator = adjudicator
    adjudication.reason = reason
    adjudication.decided_at = utcnow()
    repository.flush(session)
    append(
        session=session,
        kind=AuditKind.adjudication,
        actor=f"operator:{adjudicator}",
        subject=f"person:{person.reference}",
        data={**data, "adjudication": adjudication.reference},
    )
    return _view(session, adjudication)
