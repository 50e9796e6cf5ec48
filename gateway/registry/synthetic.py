"""A synthetic register: households across regions with every life-cycle stage represented.

Deterministic by seed, streamed row by row (so the import benchmark can write a million rows
without holding them), and valid by construction: NIKs agree with birth dates and sex.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from gateway.registry.nik import Sex, make_nik
from gateway.registry.rows import COLUMNS

# (province, regency, a district) of a few real regencies; names for humans reading the demo.
REGIONS: tuple[tuple[str, str, str, str], ...] = (
    ("32", "01", "02", "Kabupaten Bogor"),
    ("35", "78", "05", "Kota Surabaya"),
    ("51", "71", "01", "Kota Denpasar"),
    ("73", "71", "03", "Kota Makassar"),
)
GIVEN_M = ("Budi", "Agus", "Slamet", "Made", "Andi", "Rudi", "Joko", "Wayan", "Ahmad", "Dedi")
GIVEN_F = ("Siti", "Sri", "Dewi", "Ni Luh", "Nur", "Wati", "Ani", "Rina", "Ayu", "Fitri")
FAMILY = ("Santoso", "Wijaya", "Hidayat", "Saputra", "Pratama", "Lestari", "Kusuma", "Rahman")


@dataclass(frozen=True)
class MemberPlan:
    relation: str
    sex: Sex
    age: int
    pregnant: bool = False
    school: str | None = None
    disability: bool = False


# One composition per life-cycle stage mix; households cycle through them.
COMPOSITIONS: tuple[tuple[tuple[MemberPlan, ...], tuple[str, ...], bool], ...] = (
    (  # young family: pregnant mother, early childhood, primary school
        (
            MemberPlan("head", "M", 34),
            MemberPlan("spouse", "F", 29, pregnant=True),
            MemberPlan("child", "F", 4),
            MemberPlan("child", "M", 9, school="primary"),
        ),
        ("PKH", "SEMBAKO"),
        False,
    ),
    (  # school children and a grandparent
        (
            MemberPlan("head", "F", 46),
            MemberPlan("child", "M", 13, school="junior"),
            MemberPlan("child", "F", 16, school="senior"),
            MemberPlan("parent", "M", 72),
        ),
        ("PKH", "SEMBAKO", "ATENSI_LANSIA"),
        False,
    ),
    (  # an adult with severe disability
        (
            MemberPlan("head", "M", 51, disability=True),
            MemberPlan("spouse", "F", 48),
            MemberPlan("child", "M", 20),
        ),
        ("PKH", "SEMBAKO"),
        False,
    ),
    (  # graduated: economically independent, paid nothing any more
        (
            MemberPlan("head", "M", 41),
            MemberPlan("spouse", "F", 38),
            MemberPlan("child", "F", 7, school="primary"),
        ),
        ("PKH",),
        True,
    ),
    (  # elderly person living alone
        (MemberPlan("head", "F", 78),),
        ("SEMBAKO", "ATENSI_LANSIA"),
        False,
    ),
)


def _birth_date(rng: random.Random, age: int, today: dt.date) -> dt.date:
    """A birth date making the person `age` today (whole years)."""
    days_into_year = rng.randint(1, 360)
    born = today.replace(year=today.year - age - 1) + dt.timedelta(days=days_into_year)
    return born if born <= today.replace(year=today.year - age) else born - dt.timedelta(366)


def synthetic_rows(
    *, households: int, seed: int, today: dt.date, first_household: int = 0
) -> Iterator[dict[str, str]]:
    """Register rows (one per person) for `households` households, deterministic by seed."""
    for h in range(first_household, first_household + households):
        rng = random.Random(seed * 1_000_003 + h)
        province, regency, district, _name = REGIONS[h % len(REGIONS)]
        members, programmes, graduated = COMPOSITIONS[(h // len(REGIONS)) % len(COMPOSITIONS)]
        family = FAMILY[rng.randrange(len(FAMILY))]
        card = f"{province}{regency}{district}{h % 10**10:010d}"
        for i, plan in enumerate(members):
            born = _birth_date(rng, plan.age, today)
            nik = make_nik(
                province=province,
                regency=regency,
                district=district,
                birth_date=born,
                sex=plan.sex,
                serial=(h * 7 + i) % 9999 + 1,
            )
            given = (GIVEN_F if plan.sex == "F" else GIVEN_M)[rng.randrange(10)]
            due = today + dt.timedelta(days=rng.randint(30, 200)) if plan.pregnant else None
            yield {
                "family_card_number": card,
                "province_code": province,
                "regency_code": regency,
                "district_code": district,
                "graduated": "true" if graduated else "false",
                "nik": nik,
                "name": f"{given} {family}",
                "birth_date": born.isoformat(),
                "sex": plan.sex,
                "relation": plan.relation,
                "pregnant": "true" if plan.pregnant else "false",
                "due_date": due.isoformat() if due else "",
                "school_level": plan.school or "",
                "severe_disability": "true" if plan.disability else "false",
                "programmes": ";".join(programmes),
            }


def write_register_csv(
    out: IO[str], *, households: int, seed: int, today: dt.date, first_household: int = 0
) -> int:
    """Write a register CSV; returns the number of person rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    rows = 0
    for row in synthetic_rows(
        households=households, seed=seed, today=today, first_household=first_household
    ):
        writer.writerow(row)
        rows += 1
    return rows
