"""Every query of the enrolled templates: by person, by enrolment, for a household, and all
of them in batches for an index rebuild."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from gateway.biometrics.models import BiometricTemplate
from gateway.registry.models import Household, Person

_TEMPLATES = BiometricTemplate.__table__
_ACTIVE_KEYS = (
    select(_TEMPLATES.c.id, _TEMPLATES.c.position, _TEMPLATES.c.quality)
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


def active_template_keys(
    session: Session, person_id: int, modality: str
) -> list[tuple[int, int, int]]:
    """(template id, position, quality) of a person's active templates, without the blobs.

    On every verification's path, so a Core statement on the connection (no ORM compile)."""
    rows = session.connection().execute(
        _ACTIVE_KEYS, {"person_id": person_id, "modality": modality}
    )
    return [(row.id, row.position, row.quality) for row in rows]


def templates_by_id(session: Session, template_ids: Sequence[int]) -> Sequence[BiometricTemplate]:
    if not template_ids:
        return []
    return session.scalars(
        select(BiometricTemplate).where(BiometricTemplate.id.in_(list(template_ids)))
    ).all()


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
    for row in templates_of_enrollment(session, enrollment_id):
        session.delete(row)


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
