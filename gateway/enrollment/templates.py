"""A person's current templates: sealing, loading for comparison, and making new ones current.

Shared by enrollment (a biometric update must match the current templates before it may
replace them) and verification (every 1:1 decision compares against them).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy.orm import Session

from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import Modality, Sample
from gateway.biometrics.engine import BiometricEngine, Comparison, EnrolledView
from gateway.biometrics.models import open_template
from gateway.db import utcnow
from gateway.enrollment import repository
from gateway.enrollment.models import Enrollment
from gateway.indexing import repository as index_repository


def enrolled_templates(
    *, session: Session, engine: BiometricEngine, person_id: int, modality: Modality
) -> dict[int, EnrolledView]:
    """A person's enrolled templates by position, prepared (cached across requests)."""
    prepared: dict[int, EnrolledView] = {}
    for row in template_repository.active_sealed_templates(session, person_id, modality):
        # The envelope is opened only when the prepared form is not cached yet.
        prepared[row.position] = engine.prepared_enrolled(
            row.id, modality, partial(open_template, row)
        )
    return prepared


def compare_current(
    *, session: Session, engine: BiometricEngine, person_id: int, samples: Sequence[Sample]
) -> list[Comparison]:
    """Each sample against the person's current template at its position (none: skipped)."""
    comparisons: list[Comparison] = []
    for modality in ("finger", "iris"):
        probes = [s for s in samples if s.modality == modality]
        if not probes:
            continue
        enrolled = enrolled_templates(
            session=session, engine=engine, person_id=person_id, modality=modality
        )
        for s in probes:
            if s.position in enrolled:
                comparisons.append(engine.compare_enrolled(s, enrolled[s.position]))
    return comparisons


def activate(*, session: Session, enrollment: Enrollment) -> None:
    """Make an enrollment's templates the person's current ones and tell the index."""
    templates = template_repository.templates_of_enrollment(session, enrollment.id)
    for modality in {t.modality for t in templates}:
        template_repository.deactivate_templates(
            session,
            person_id=enrollment.person_id,
            modality=modality,
            positions=[t.position for t in templates if t.modality == modality],
        )
    for template in templates:
        template.active = True
    enrollment.status = "enrolled"
    enrollment.decided_at = utcnow()
    repository.flush(session)
    index_repository.add_event(session, person_id=enrollment.person_id, op="upsert")
