"""Life-cycle rules: stages from birth dates and attributes, caps, exclusions, graduation."""

from __future__ import annotations

from datetime import date

from gateway.payouts.entitlements import (
    HouseholdFacts,
    MemberFacts,
    age_on,
    due_entitlements,
    period_key,
)
from gateway.payouts.programmes import EXAMPLE_CONFIG, Period, load_catalogue

DAY = date(2026, 11, 27)
CATALOGUE = load_catalogue(EXAMPLE_CONFIG)


def household(*members: MemberFacts, memberships: set[str], **kw: object) -> HouseholdFacts:
    return HouseholdFacts(
        household_id=int(kw.get("household_id", 1)),  # type: ignore[call-overload]
        region_code=str(kw.get("region_code", "3301")),
        graduated=bool(kw.get("graduated", False)),
        members=members,
        memberships=frozenset(memberships),
    )


def test_age_and_period_keys() -> None:
    assert age_on(date(2020, 11, 28), DAY) == 5
    assert age_on(date(2020, 11, 27), DAY) == 6
    assert period_key(Period.MONTHLY, DAY) == "2026-11"
    assert period_key(Period.QUARTERLY, DAY) == "2026-Q4"
    assert period_key(Period.ONE_OFF, DAY) == "once"


def test_every_life_cycle_stage_is_paid_with_a_reason() -> None:
    hh = household(
        MemberFacts(1, date(1995, 1, 1), pregnancy_due=date(2027, 2, 1)),
        MemberFacts(2, date(2022, 5, 5)),
        MemberFacts(3, date(2015, 5, 5), school_level="primary"),
        MemberFacts(4, date(1950, 5, 5)),
        memberships={"PKH"},
    )
    lines = due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY)
    assert {(line.component, line.person_id) for line in lines} == {
        ("pregnant", 1),
        ("early_childhood", 2),
        ("primary_school", 3),
        ("elderly", 4),
    }
    assert all(line.period == "2026-Q4" for line in lines)
    elderly = next(line for line in lines if line.component == "elderly")
    assert "aged 76" in elderly.reason


def test_pregnancy_past_due_date_is_not_paid() -> None:
    hh = household(
        MemberFacts(1, date(1995, 1, 1), pregnancy_due=date(2026, 11, 1)), memberships={"PKH"}
    )
    assert due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY) == []


def test_cap_counts_at_most_four_members_keeping_the_largest() -> None:
    children = [MemberFacts(i, date(2022, 1, i)) for i in range(1, 6)]
    elderly = MemberFacts(9, date(1940, 1, 1))
    hh = household(*children, elderly, memberships={"PKH"})
    lines = due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY)
    people = {line.person_id for line in lines}
    assert len(people) == 4
    assert {1, 2, 3} <= people


def test_school_levels_are_mutually_exclusive_per_person() -> None:
    hh = household(MemberFacts(1, date(2010, 1, 1), school_level="senior"), memberships={"PKH"})
    lines = due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY)
    assert [line.component for line in lines] == ["senior_school"]


def test_cross_programme_exclusion_pays_the_elderly_once() -> None:
    old = MemberFacts(1, date(1940, 1, 1))
    hh = household(old, memberships={"PKH", "ATENSI_LANSIA"})
    refs = {line.ref for line in due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY)}
    assert "PKH.elderly" in refs
    assert "ATENSI_LANSIA.allowance" not in refs
    already = frozenset({("ATENSI_LANSIA.allowance", "person:1")})
    refs = {
        line.ref
        for line in due_entitlements(
            household=hh, catalogue=CATALOGUE, day=DAY, claimed_refs=already
        )
    }
    assert "PKH.elderly" not in refs


def test_graduated_households_receive_nothing() -> None:
    hh = household(MemberFacts(1, date(1940, 1, 1)), memberships={"PKH", "SEMBAKO"}, graduated=True)
    assert due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY) == []


def test_claimed_lines_are_not_due_again() -> None:
    hh = household(memberships={"SEMBAKO"})
    (line,) = due_entitlements(household=hh, catalogue=CATALOGUE, day=DAY)
    assert line.amount == 200_000
    again = due_entitlements(
        household=hh, catalogue=CATALOGUE, day=DAY, claimed=frozenset({line.claim_key})
    )
    assert again == []


def test_emergency_programme_pays_everyone_in_its_region_only() -> None:
    inside = household(memberships=set(), region_code="320105")
    outside = household(memberships=set(), region_code="3301")
    assert [
        line.programme for line in due_entitlements(household=inside, catalogue=CATALOGUE, day=DAY)
    ] == ["DARURAT_2026"]
    assert due_entitlements(household=outside, catalogue=CATALOGUE, day=DAY) == []
