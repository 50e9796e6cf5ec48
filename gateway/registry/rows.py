"""One register CSV row → a checked `RegisterRow`, or a `RowError` naming the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.errors import InvalidInput
from gateway.registry.models import RELATIONS, SCHOOL_LEVELS
from gateway.registry.nik import PROVINCE_CODES, NikError, Sex, validate_nik

COLUMNS = (
    "family_card_number",
    "province_code",
    "regency_code",
    "district_code",
    "graduated",
    "nik",
    "name",
    "birth_date",
    "sex",
    "relation",
    "pregnant",
    "due_date",
    "school_level",
    "severe_disability",
    "programmes",
)
REQUIRED = frozenset(COLUMNS) - {
    "graduated",
    "pregnant",
    "due_date",
    "school_level",
    "severe_disability",
    "programmes",
}

_TRUE = frozenset({"1", "true", "yes", "y", "ya"})
_FALSE = frozenset({"", "0", "false", "no", "n", "tidak"})
_SEXES: dict[str, Sex] = {"m": "M", "l": "M", "male": "M", "f": "F", "p": "F", "female": "F"}


class RowError(InvalidInput):
    """A bad register row; `field` and `code` say what to fix."""

    code = "invalid_row"

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message, code=code, field=field)
        self.field = field


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """A person's row with their household's columns, all checked."""

    family_card_number: str
    province_code: str
    regency_code: str
    district_code: str
    graduated: bool
    nik: str
    name: str
    birth_date: dt.date
    sex: Sex
    relation: str
    pregnant: bool
    due_date: dt.date | None
    school_level: str | None
    severe_disability: bool
    programmes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"RegisterRow(kk=…{self.family_card_number[-4:]}, name={self.name!r})"


def _digits(row: Mapping[str, str], field: str, length: int) -> str:
    value = row.get(field, "").strip()
    if len(value) != length or not value.isdigit():
        raise RowError(field, f"invalid_{field}", f"{field} must be exactly {length} digits.")
    return value


def _flag(row: Mapping[str, str], field: str) -> bool:
    value = (row.get(field) or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(field, f"invalid_{field}", f"{field} must be true or false.")


def _date(row: Mapping[str, str], field: str, *, required: bool) -> dt.date | None:
    value = (row.get(field) or "").strip()
    if not value:
        if required:
            raise RowError(field, f"missing_{field}", f"{field} is required (YYYY-MM-DD).")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RowError(
            field, f"invalid_{field}", f"{field} must be a date as YYYY-MM-DD."
        ) from None


def parse_row(row: Mapping[str, str | None], *, today: dt.date) -> RegisterRow:
    """Check every column of one row; the first problem found is raised."""
    clean = {k.strip().lower(): (v or "") for k, v in row.items() if k is not None}
    for field in REQUIRED:
        if not clean.get(field, "").strip():
            raise RowError(field, f"missing_{field}", f"{field} is required.")
    card = _digits(clean, "family_card_number", 16)
    province = _digits(clean, "province_code", 2)
    if province not in PROVINCE_CODES:
        raise RowError("province_code", "invalid_province_code", "province_code is unknown.")
    regency = _digits(clean, "regency_code", 2)
    district = _digits(clean, "district_code", 2)
    name = clean["name"].strip()
    if len(name) > 200:
        raise RowError("name", "invalid_name", "name is longer than 200 characters.")
    birth_date = _date(clean, "birth_date", required=True)
    assert birth_date is not None
    if birth_date > today:
        raise RowError("birth_date", "invalid_birth_date", "birth_date is in the future.")
    sex = _SEXES.get(clean["sex"].strip().lower())
    if sex is None:
        raise RowError("sex", "invalid_sex", "sex must be M or F (L or P).")
    relation = clean["relation"].strip().lower()
    if relation not in RELATIONS:
        raise RowError(
            "relation", "invalid_relation", f"relation must be one of {', '.join(RELATIONS)}."
        )
    nik = clean["nik"].strip()
    try:
        validate_nik(nik, birth_date=birth_date, sex=sex)
    except NikError as exc:
        raise RowError("nik", exc.code, exc.message) from None
    pregnant = _flag(clean, "pregnant")
    due_date = _date(clean, "due_date", required=False)
    if pregnant and sex != "F":
        raise RowError("pregnant", "invalid_pregnant", "only a woman can be recorded pregnant.")
    if pregnant and due_date is None:
        raise RowError("due_date", "missing_due_date", "a pregnancy needs its due_date.")
    if not pregnant and due_date is not None:
        raise RowError("due_date", "invalid_due_date", "due_date is set but pregnant is not.")
    school = clean.get("school_level", "").strip().lower() or None
    if school is not None and school not in SCHOOL_LEVELS:
        raise RowError(
            "school_level",
            "invalid_school_level",
            f"school_level must be empty or one of {', '.join(SCHOOL_LEVELS)}.",
        )
    programmes = tuple(
        sorted({p.strip().upper() for p in clean.get("programmes", "").split(";") if p.strip()})
    )
    for code in programmes:
        if len(code) > 32 or not code.replace("_", "").replace("-", "").isalnum():
            raise RowError("programmes", "invalid_programmes", "a programme code is malformed.")
    return RegisterRow(
        family_card_number=card,
        province_code=province,
        regency_code=regency,
        district_code=district,
        graduated=_flag(clean, "graduated"),
        nik=nik,
        name=name,
        birth_date=birth_date,
        sex=sex,
        relation=relation,
        pregnant=pregnant,
        due_date=due_date,
        school_level=school,
        severe_disability=_flag(clean, "severe_disability"),
        programmes=programmes,
    )
