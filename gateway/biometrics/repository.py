"""Every query of the enrolled templates: by person, by enrolment, for a household, all of
them in batches for an index rebuild, those not made by a given extractor; and of the finger
captures kept beside them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from gateway.biometrics.models import BiometricCapture, BiometricTemplate
from gateway.registry.models import Household, Person

_TEMPLATES = BiometricTemplate.__table__
# A person's active templates of one modality with their sealed envelopes: a verification
# compares against them and most often finds none of them prepared in its cache yet (a
# payout day verifies each person once), so ids and envelopes come in one round trip.
_ACTIVE_SEALED = (
    select(
        _TEMPLATES.c.id,
        _TEMPLATES.c.position,
        _TEMPLATES.c.reference,
        _TEMPLATES.c.person_id,
        _TEMPLATES.c.modality,
        _TEMPLATES.c.envelope,
    )
    .where(
        _TEMPLATES.c.person_id == bindparam("person_id"),
        _TEMPLATES.c.modality == bindparam("modality"),
        _TEMPLATES.c.active.is_(True),
    )
    .order_by(_TEMPLATES.c.position)
)


def count_active_templates(session: Session, modality: str) -> int:
    """Enrolled samples of a modality: the gallery size the index settings are chosen for."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BiometricTemplate)
            .where(BiometricTemplate.modality == modality, BiometricTemplate.active.is_(True))
        )
        or 0
    )


def active_templates(session: Session, person_id: int) -> Sequence[BiometricTemplate]:
    return session.scalars(
        select(BiometricTemplate)
        .where(BiometricTemplate.person_id == person_id, BiometricTemplate.active.is_(True))
        .order_by(BiometricTemplate.id)
    ).all()


def active_sealed_templates(session: Session, person_id: int, modality: str) -> list[Row[Any]]:
    """A person's active templates (id, position, and what opening one needs), by position.

    On every verification's path, so a Core statement on the connection (no ORM load)."""
    return list(
        session.connection().execute(_ACTIVE_SEALED, {"person_id": person_id, "modality": modality})
    )


def templates_of_enrollment(session: Session, enrollment_id: int) -> Sequence[BiometricTemplate]:
    return session.scalars(
        select(BiometricTemplate)
        .where(BiometricTemplate.enrollment_id == enrollment_id)
        .order_by(BiometricTemplate.id)
    ).all()


def deactivate_templates(
    session: Session, *, person_id: int, modality: str, positions: list[int]
) -> None:
    session.execute(
        update(BiometricTemplate)
        .where(
            BiometricTemplate.person_id == person_id,
            BiometricTemplate.modality == modality,
            BiometricTemplate.position.in_(positions),
            BiometricTemplate.active.is_(True),
        )
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


def delete_templates_of_enrollment(session: Session, enrollment_id: int) -> None:
    """An enrolment's templates and the captures they came from (a refusal or a merge)."""
    for row in templates_of_enrollment(session, enrollment_id):
        session.delete(row)
    session.execute(
        delete(BiometricCapture)
        .where(BiometricCapture.enrollment_id == enrollment_id)
        .execution_options(synchronize_session=False)
    )


def enrolled_people_of_household(session: Session, household_reference: str) -> set[int]:
    rows = session.scalars(
        select(BiometricTemplate.person_id)
        .join(Person, Person.id == BiometricTemplate.person_id)
        .join(Household, Household.id == Person.household_id)
        .where(Household.reference == household_reference, BiometricTemplate.active.is_(True))
        .distinct()
    )
    return set(rows)


def all_active_templates(
    session: Session, *, batch: int = 2000
) -> Iterator[tuple[BiometricTemplate, str]]:
    """Every active template with its person's household region, in person order (rebuilds)."""
    last = 0
    while True:
        rows = session.execute(
            select(BiometricTemplate, Household.province_code + Household.regency_code)
            .join(Person, Person.id == BiometricTemplate.person_id)
            .join(Household, Household.id == Person.household_id)
            .where(BiometricTemplate.active.is_(True), BiometricTemplate.id > last)
            .order_by(BiometricTemplate.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from ((template, region) for template, region in rows)
        last = rows[-1][0].id


def _not_made_by(extractor: str) -> ColumnElement[bool]:
    return or_(BiometricTemplate.extractor.is_(None), BiometricTemplate.extractor != extractor)


def count_not_made_by(session: Session, modality: str, extractor: str) -> int:
    """Active templates of `modality` not recorded as made by `extractor` (to do)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BiometricTemplate)
            .where(
                BiometricTemplate.modality == modality,
                BiometricTemplate.active.is_(True),
                _not_made_by(extractor),
            )
        )
        or 0
    )


def not_made_by(
    session: Session, modality: str, extractor: str, *, after: int, limit: int
) -> Sequence[BiometricTemplate]:
    """The next `limit` active templates (by id, after `after`) not made by `extractor`."""
    return session.scalars(
        select(BiometricTemplate)
        .where(
            BiometricTemplate.modality == modality,
            BiometricTemplate.active.is_(True),
            BiometricTemplate.id > after,
            _not_made_by(extractor),
        )
        .order_by(BiometricTemplate.id)
        .limit(limit)
    ).all()


def extractor_counts(session: Session, modality: str) -> dict[str | None, int]:
    """Active templates of `modality` by recorded extractor (None: not recorded yet)."""
    rows = session.execute(
        select(BiometricTemplate.extractor, func.count())
        .where(BiometricTemplate.modality == modality, BiometricTemplate.active.is_(True))
        .group_by(BiometricTemplate.extractor)
    )
    return {extractor: int(n) for extractor, n in rows}


def lock_templates(session: Session, template_ids: Sequence[int]) -> dict[int, BiometricTemplate]:
    """Templates by id, row-locked until the transaction ends (PostgreSQL; SQLite's one
    writer gives the same), so two writers cannot both replace one template."""
    if not template_ids:
        return {}
    rows = session.scalars(
        select(BiometricTemplate)
        .where(BiometricTemplate.id.in_(list(template_ids)))
        .with_for_update()
    )
    return {row.id: row for row in rows}


CaptureKey = tuple[int, str, int]


def captures_at(session: Session, keys: Sequence[CaptureKey]) -> dict[CaptureKey, BiometricCapture]:
    """Stored captures by (enrolment id, modality, position)."""
    if not keys:
        return {}
    rows = session.scalars(
        select(BiometricCapture).where(
            tuple_(
                BiometricCapture.enrollment_id, BiometricCapture.modality, BiometricCapture.position
            ).in_(list(keys))
        )
    )
    return {(row.enrollment_id, row.modality, row.position): row for row in rows}


def unrecorded(session: Session, *, limit: int) -> Sequence[BiometricTemplate]:
    """`limit` templates (the oldest first) whose extractor is not recorded."""
    return session.scalars(
        select(BiometricTemplate)
        .where(BiometricTemplate.extractor.is_(None))
        .order_by(BiometricTemplate.id)
        .limit(limit)
    ).all()
