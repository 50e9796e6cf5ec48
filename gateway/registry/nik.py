"""NIK (Nomor Induk Kependudukan) validation: structure, region codes, birth date and sex.

A NIK is 16 digits: province (2), regency (2), district (2), birth date DDMMYY with 40 added
to the day for women, and a serial (4). The register's audits found millions of invalid NIKs,
so every NIK entering the gateway is checked part by part and rejected with the part named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from gateway.errors import InvalidInput

Sex = Literal["M", "F"]

# Province codes of the national population administration (Kemendagri), including the
# Papuan provinces created in 2022. Facts from the published code list.
_PROVINCE_RANGES = ((11, 19), (21, 21), (31, 36), (51, 53), (61, 65), (71, 76), (81, 82), (91, 96))
PROVINCE_CODES: frozenset[str] = frozenset(
    str(code) for low, high in _PROVINCE_RANGES for code in range(low, high + 1)
)

# Women's NIKs carry the day of birth plus 40 (so 41..71).
FEMALE_DAY_OFFSET = 40


class NikError(InvalidInput):
    """A NIK that fails one part of its structure; `part` names which one."""

    code = "invalid_nik"

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message, code=f"invalid_nik_{part}", part=part)
        self.part = part


@dataclass(frozen=True, slots=True)
class Nik:
    """A structurally valid NIK split into its parts."""

    value: str
    province: str
    regency: str
    district: str
    birth_day: int
    birth_month: int
    birth_year_2: int
    sex: Sex
    serial: str

    @property
    def region(self) -> str:
        """Province + regency: the scope a terminal serves and 1:N searches are limited to."""
        return self.province + self.regency

    def __repr__(self) -> str:
        # Never print the number itself: reprs end up in tracebacks and logs.
        return f"Nik(province={self.province!r}, regency={self.regency!r}, sex={self.sex!r})"


def _plausible_date(day: int, month: int, year_2: int) -> bool:
    """The DDMMYY part is a real date in the 1900s or the 2000s (29 February needs a leap year)."""
    for century in (1900, 2000):
        try:
            dt.date(century + year_2, month, day)
        except ValueError:
            continue
        return True
    return False


def parse_nik(value: str) -> Nik:
    """Check the structure of a NIK on its own; raise `NikError` naming the failing part."""
    if not isinstance(value, str) or len(value) != 16:
        raise NikError("length", "A NIK has exactly 16 digits.")
    if not value.isascii() or not value.isdigit():
        raise NikError("digits", "A NIK contains digits only.")
    province, regency, district = value[0:2], value[2:4], value[4:6]
    if province not in PROVINCE_CODES:
        raise NikError("province", "The NIK's first two digits are not a province code.")
    if regency == "00":
        raise NikError("regency", "The NIK's regency code (digits 3-4) cannot be 00.")
    if district == "00":
        raise NikError("district", "The NIK's district code (digits 5-6) cannot be 00.")
    day, month, year_2 = int(value[6:8]), int(value[8:10]), int(value[10:12])
    sex: Sex = "M"
    if day > FEMALE_DAY_OFFSET:
        sex = "F"
        day -= FEMALE_DAY_OFFSET
    if not (1 <= month <= 12) or not (1 <= day <= 31) or not _plausible_date(day, month, year_2):
        raise NikError(
            "birth_date", "The NIK's birth date (digits 7-12, DDMMYY) is not a real date."
        )
    serial = value[12:16]
    if serial == "0000":
        raise NikError("serial", "The NIK's serial number (digits 13-16) cannot be 0000.")
    return Nik(value, province, regency, district, day, month, year_2, sex, serial)


def validate_nik(value: str, *, birth_date: dt.date, sex: Sex) -> Nik:
    """Check a NIK and that it agrees with the record's birth date and sex."""
    nik = parse_nik(value)
    if (nik.birth_day, nik.birth_month, nik.birth_year_2) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        raise NikError(
            "birth_date", "The NIK's birth date (digits 7-12) differs from the record's birth date."
        )
    if nik.sex != sex:
        raise NikError(
            "sex",
            "The NIK's day of birth encodes a different sex than the record "
            "(women have 40 added to the day).",
        )
    return nik


def make_nik(
    *, province: str, regency: str, district: str, birth_date: dt.date, sex: Sex, serial: int
) -> str:
    """Compose a NIK from its parts (used by the synthetic register and tests)."""
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex == "F" else 0)
    value = (
        f"{province}{regency}{district}{day:02d}{birth_date.month:02d}"
        f"{birth_date.year % 100:02d}{serial:04d}"
    )
    parse_nik(value)
    return value
