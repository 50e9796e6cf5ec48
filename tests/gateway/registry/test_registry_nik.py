"""NIK structure checks name the failing part; agreement with the record is enforced."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.nik import NikError, make_nik, parse_nik, validate_nik

WOMAN = "3201024506900001"  # West Java, day 05 + 40, June 1990, serial 0001
MAN = "3578011212850042"


def test_valid_niks_parse_into_parts() -> None:
    woman = parse_nik(WOMAN)
    assert (woman.province, woman.regency, woman.district) == ("32", "01", "02")
    assert (woman.birth_day, woman.birth_month, woman.birth_year_2) == (5, 6, 90)
    assert woman.sex == "F" and woman.region == "3201" and woman.serial == "0001"
    assert parse_nik(MAN).sex == "M"
    assert WOMAN not in repr(woman)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("320102450690000", "length"),
        ("32010245069000011", "length"),
        ("32010245069O0001", "digits"),
        ("９２０１０２４５０６９０００01", "digits"),
        ("9901024506900001", "province"),
        ("3200024506900001", "regency"),
        ("3201004506900001", "district"),
        ("3201023206900001", "birth_date"),  # day 32
        ("3201027206900001", "birth_date"),  # day 72 - 40 = 32
        ("3201020513900001", "birth_date"),  # month 13
        ("3201023002900001", "birth_date"),  # 30 February
        ("3201024506900000", "serial"),
    ],
)
def test_each_bad_part_is_named(value: str, part: str) -> None:
    with pytest.raises(NikError) as caught:
        parse_nik(value)
    assert caught.value.part == part
    assert caught.value.code == f"invalid_nik_{part}"
    assert caught.value.status == 422


def test_29_february_accepted_only_in_a_leap_year() -> None:
    assert parse_nik("3201022902000001").birth_day == 29  # 2000 is a leap year
    with pytest.raises(NikError, match="real date"):
        parse_nik("3201022902010001")  # neither 1901 nor 2001


def test_record_must_agree_with_birth_date_and_sex() -> None:
    validate_nik(WOMAN, birth_date=dt.date(1990, 6, 5), sex="F")
    with pytest.raises(NikError) as caught:
        validate_nik(WOMAN, birth_date=dt.date(1990, 6, 6), sex="F")
    assert caught.value.part == "birth_date"
    with pytest.raises(NikError) as caught:
        validate_nik(WOMAN, birth_date=dt.date(1990, 6, 5), sex="M")
    assert caught.value.part == "sex"


@given(
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2025, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    serial=st.integers(min_value=1, max_value=9999),
)
def test_composed_niks_round_trip(birth: dt.date, sex: str, serial: int) -> None:
    value = make_nik(
        province="35",
        regency="78",
        district="01",
        birth_date=birth,
        sex=sex,  # type: ignore[arg-type]
        serial=serial,
    )
    nik = validate_nik(value, birth_date=birth, sex=sex)  # type: ignore[arg-type]
    assert nik.sex == sex and int(nik.serial) == serial
