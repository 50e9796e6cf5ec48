"""Every query of the single register."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.registry.models import Household, Person, ProgrammeMembership


def household_by_reference(session: Session, reference: str) -> Household | None:
    return session.scalars(select(Household).where(Household.reference == reference)).first()


def household_by_id(session: Session, household_id: int) -> Household | None:
    return session.get(Household, household_id)


def person_by_nik_hash(session: Session, nik_hash: bytes) -> Person | None:
    return session.scalars(select(Person).where(Person.nik_hash == nik_hash)).first()


def person_by_reference(session: Session, reference: str) -> Person | None:
    return session.scalars(select(Person).where(Person.reference == reference)).first()


def person_by_id(session: Session, person_id: int) -> Person | None:
    return session.get(Person, person_id)


def people_of_household(session: Session, household_id: int) -> Sequence[Person]:
    return session.scalars(
        select(Person).where(Person.household_id == household_id).order_by(Person.id)
    ).all()


def programmes_of_household(session: Session, household_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ProgrammeMembership.programme_code)
            .where(ProgrammeMembership.household_id == household_id)
            .order_by(ProgrammeMembership.programme_code)
        )
    )


def households_by_card(session: Session, cards: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Existing households for a batch: family card number → (id, reference)."""
    rows = session.execute(
        select(Household.family_card_number, Household.id, Household.reference).where(
            Household.family_card_number.in_(list(cards))
        )
    )
    return {card: (hid, ref) for card, hid, ref in rows}


def people_by_nik_hash(session: Session, hashes: Iterable[bytes]) -> dict[bytes, tuple[int, str]]:
    """Existing people for a batch: NIK hash → (id, reference)."""
    rows = session.execute(
        select(Person.nik_hash, Person.id, Person.reference).where(
            Person.nik_hash.in_(list(hashes))
        )
    )
    return {bytes(h): (pid, ref) for h, pid, ref in rows}


def insert_households(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert many households at once; family card number → new id."""
    if not rows:
        return {}
    result = session.execute(
        insert(Household).returning(Household.family_card_number, Household.id), rows
    )
    return {card: hid for card, hid in result}


def update_households(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key (each dict carries `id`)."""
    if rows:
        session.execute(update(Household), rows)


def insert_people(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Person), rows)


def update_people(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(update(Person), rows)


def memberships_of(session: Session, household_ids: Iterable[int]) -> set[tuple[int, str]]:
    rows = session.execute(
        select(ProgrammeMembership.household_id, ProgrammeMembership.programme_code).where(
            ProgrammeMembership.household_id.in_(list(household_ids))
        )
    )
    return {(hid, code) for hid, code in rows}


def insert_memberships(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ProgrammeMembership), rows)
