"""Who a verification is about: the register's person for a NIK, with their open lockouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from gateway.crypto.nik import nik_lookup_hash
from gateway.registry import repository as registry_repository
from gateway.registry.nik import parse_nik
from gateway.registry.service import UnknownPerson, canonical
from gateway.verification import repository


@dataclass(frozen=True)
class Subject:
    """The person a verification is about, with what the answer and the token need, and
    their open lockout's reference if any (read in the same statement)."""

    id: int
    reference: str
    household_id: int
    household_reference: str
    region: str
    lockout: str | None
    away_lockout: str | None

    def lockout_at(self, terminal_region: str) -> str | None:
        """The open lockout refusing this person at a terminal of `terminal_region`: a home
        lockout anywhere, an away lockout only outside the person's region."""
        if self.lockout is not None or terminal_region == self.region:
            return self.lockout
        return self.away_lockout


def subject_of(row: Row[Any]) -> Subject:
    return Subject(
        row.id,
        row.reference,
        row.household_id,
        row.household_reference,
        row.region,
        row.lockout,
        row.away_lockout,
    )


def find_subject(*, session: Session, nik: str) -> Subject:
    """The register's person for a NIK, with their open lockout's reference if any.

    The NIK is checked first, so a typo says which part is wrong; a record merged into
    another by adjudication resolves to the surviving person (as `find_person` does).
    """
    parse_nik(nik)
    row = repository.subject_by_nik_hash(session, nik_lookup_hash(nik))
    if row is None:
        raise UnknownPerson("No person with this NIK is in the register.")
    if row.merged_into_id is not None:
        merged = registry_repository.person_by_id(session, row.id)
        assert merged is not None
        row = repository.subject_by_id(session, canonical(session=session, person=merged).id)
        assert row is not None
    return subject_of(row)
