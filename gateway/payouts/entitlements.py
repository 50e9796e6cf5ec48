"""What a household is owed on a date: pure rules over register facts and a catalogue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.payouts.programmes import (
    Component,
    Period,
    Programme,
    ProgrammeCatalogue,
    Stage,
)

# A pregnancy is counted from about forty weeks before the due date until the due date.
PREGNANCY_SPAN = timedelta(days=280)
EARLY_CHILDHOOD_MAX_AGE = 6
ADULT_AGE = 18
DEFAULT_ELDERLY_AGE = 60
SCHOOL_STAGES = {
    "primary": Stage.PRIMARY_SCHOOL,
    "junior": Stage.JUNIOR_SCHOOL,
    "senior": Stage.SENIOR_SCHOOL,
}


@dataclass(frozen=True)
class MemberFacts:
    """The register facts about one person that entitlement rules read."""

    person_id: int
    birth_date: date
    pregnancy_due: date | None = None
    school_level: str | None = None
    severe_disability: bool = False


@dataclass(frozen=True)
class HouseholdFacts:
    household_id: int
    region_code: str
    graduated: bool
    members: tuple[MemberFacts, ...]
    memberships: frozenset[str]


@dataclass(frozen=True)
class Entitlement:
    """One line due: a claim key (programme, component, subject, period), an amount and why."""

    programme: str
    component: str
    subject: str
    period: str
    amount: int
    reason: str
    person_id: int | None = None

    @property
    def claim_key(self) -> tuple[str, str, str, str]:
        return (self.programme, self.component, self.subject, self.period)

    @property
    def ref(self) -> str:
        return f"{self.programme}.{self.component}"


def age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


def period_key(period: Period, day: date) -> str:
    """The period a payment on `day` belongs to; a subject is paid once per period."""
    if period is Period.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    if period is Period.QUARTERLY:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return "once"


def stage_reason(member: MemberFacts, component: Component, day: date) -> str | None:
    """Why the member is in the component's stage on `day`, or None when not."""
    age = age_on(member.birth_date, day)
    stage = component.stage
    if stage is Stage.PREGNANT:
        due = member.pregnancy_due
        if due is not None and day <= due <= day + PREGNANCY_SPAN:
            return f"pregnant, due {due.isoformat()}"
        return None
    if stage is Stage.EARLY_CHILDHOOD:
        if age <= EARLY_CHILDHOOD_MAX_AGE and member.school_level is None:
            return f"aged {age}, not yet at school"
        return None
    if stage in SCHOOL_STAGES.values():
        if SCHOOL_STAGES.get(member.school_level or "") is stage:
            return f"enrolled at {member.school_level} school"
        return None
    if stage is Stage.SEVERE_DISABILITY:
        if member.severe_disability and age >= ADULT_AGE:
            return f"adult (aged {age}) with severe disability"
        return None
    threshold = component.min_age if component.min_age is not None else DEFAULT_ELDERLY_AGE
    if age >= threshold:
        return f"aged {age} (at least {threshold})"
    return None


def takes_part(programme: Programme, household: HouseholdFacts, day: date) -> bool:
    """Whether the household is in the programme (and the programme open there) on `day`."""
    if not programme.is_open_on(day) or not programme.covers_region(household.region_code):
        return False
    return programme.code in household.memberships or programme.open_to_all_in_region


def _programme_lines(
    programme: Programme, household: HouseholdFacts, day: date
) -> list[Entitlement]:
    period = period_key(programme.period, day)
    lines: list[Entitlement] = []
    for component in programme.components:
        if component.per == "household":
            lines.append(
                Entitlement(
                    programme.code,
                    component.code,
                    f"household:{household.household_id}",
                    period,
                    component.amount,
                    f"{programme.code} {component.code}: one per household per {period}",
                )
            )
    per_person: dict[int, list[Entitlement]] = defaultdict(list)
    for member in household.members:
        best_in_group: dict[str, Entitlement] = {}
        for component in programme.components:
            if component.per != "person":
                continue
            why = stage_reason(member, component, day)
            if why is None:
                continue
            line = Entitlement(
                programme.code,
                component.code,
                f"person:{member.person_id}",
                period,
                component.amount,
                f"{programme.code} {component.code}: member #{member.person_id} {why}",
                member.person_id,
            )
            if component.exclusive_group is None:
                per_person[member.person_id].append(line)
            else:
                held = best_in_group.get(component.exclusive_group)
                if held is None or line.amount > held.amount:
                    best_in_group[component.exclusive_group] = line
        per_person[member.person_id].extend(best_in_group.values())
    counted = sorted(
        (pid for pid, person_lines in per_person.items() if person_lines),
        key=lambda pid: (-sum(line.amount for line in per_person[pid]), pid),
    )
    if programme.max_counted_members is not None:
        counted = counted[: programme.max_counted_members]
    for pid in sorted(counted):
        lines.extend(per_person[pid])
    return lines


def due_entitlements(
    *,
    household: HouseholdFacts,
    catalogue: ProgrammeCatalogue,
    day: date,
    claimed: frozenset[tuple[str, str, str, str]] = frozenset(),
    claimed_refs: frozenset[tuple[str, str]] = frozenset(),
) -> list[Entitlement]:
    """Every line due now across programmes, minus what was already claimed.

    `claimed` holds exact claim keys already paid or reserved; `claimed_refs` holds
    (`PROG.component`, subject) pairs claimed in their current period, so a cross-programme
    exclusion also holds against lines paid earlier in the period.
    """
    if household.graduated:
        return []
    lines: list[Entitlement] = []
    for programme in catalogue.programmes:
        if takes_part(programme, household, day):
            lines.extend(_programme_lines(programme, household, day))
    taken = {(line.ref, line.subject) for line in lines} | set(claimed_refs)
    excluded: set[tuple[str, str]] = set()
    for first, second in catalogue.exclusive:
        for ref, subject in list(taken):
            if ref == first and (second, subject) in taken:
                # The line already claimed this period wins; otherwise the first declared.
                second_held = (second, subject) in claimed_refs
                excluded.add((first, subject) if second_held else (second, subject))
    return [
        line
        for line in lines
        if (line.ref, line.subject) not in excluded and line.claim_key not in claimed
    ]
