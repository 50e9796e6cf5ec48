"""Register look-ups used by enrollment, verification and the ops API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.crypto.nik import nik_lookup_hash, open_nik
from gateway.errors import NotFound
from gateway.registry import repository
from gateway.registry.models import Household, Person
from gateway.registry.nik import parse_nik
from gateway.registry.schemas import HouseholdView, MemberView


class UnknownPerson(NotFound):
    code = "unknown_person"


class UnknownHousehold(NotFound):
    code = "unknown_household"


def find_person(*, session: Session, nik: str) -> Person:
    """The register's person for a NIK (checked first, so a typo says which part is wrong).

    A record merged into another by adjudication resolves to the surviving person.
    """
    parse_nik(nik)
    person = repository.person_by_nik_hash(session, nik_lookup_hash(nik))
    if person is None:
        raise UnknownPerson("No person with this NIK is in the register.")
    return canonical(session=session, person=person)


def canonical(*, session: Session, person: Person) -> Person:
    """Follow adjudication merges to the surviving record."""
    seen = {person.id}
    while person.merged_into_id is not None:
        survivor = repository.person_by_id(session, person.merged_into_id)
        if survivor is None or survivor.id in seen:
            break
        seen.add(survivor.id)
        person = survivor
    return person


def household_of(*, session: Session, person: Person) -> Household:
    household = repository.household_by_id(session, person.household_id)
    if household is None:  # the foreign key makes this impossible short of corruption
        raise UnknownHousehold("The person's household is missing.")
    return household


def household_view(*, session: Session, reference: str, enrolled: set[int]) -> HouseholdView:
    """A household with its members for ops, NIKs reduced to their last four digits."""
    household = repository.household_by_reference(session, reference)
    if household is None:
        raise UnknownHousehold("No household has this reference.")
    members = [
        MemberView(
            reference=p.reference,
            nik_last4=open_nik(p.nik_ciphertext, record_id=p.reference)[-4:],
            name=p.name,
            birth_date=p.birth_date,
            sex=p.sex,
            relation=p.relation,
            pregnant=p.pregnant,
            due_date=p.due_date,
            school_level=p.school_level,
            severe_disability=p.severe_disability,
            deceased_on=p.deceased_on,
            enrolled=p.id in enrolled,
        )
        for p in repository.people_of_household(session, household.id)
    ]
    return HouseholdView(
        reference=household.reference,
        family_card_number=household.family_card_number,
        region=household.region,
        district_code=household.district_code,
        graduated=household.graduated,
        graduated_on=household.graduated_on,
        programmes=repository.programmes_of_household(session, household.id),
        members=members,
    )
