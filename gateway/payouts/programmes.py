"""Programmes are data: a TOML file, validated at load, defines every benefit and its rules."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.payouts.region_policy import RegionPolicy

EXAMPLE_CONFIG = Path(__file__).with_name("programmes.example.toml")
# Entitlement periods and bank statement days follow Western Indonesian Time (UTC+7).
PAYMENT_ZONE = timezone(timedelta(hours=7), "WIB")


def payment_day(moment: datetime) -> date:
    """The calendar day a payment at `moment` belongs to, in the ministry's time zone."""
    return moment.astimezone(PAYMENT_ZONE).date()


class ProgrammeConfigError(ValueError):
    """The programme file is unreadable or breaks a rule; the message names the place."""

    code = "programme_config_invalid"


class Cluster(StrEnum):
    SOCIAL_PROTECTION = "social_protection"
    SOCIAL_SECURITY = "social_security"
    EMPOWERMENT = "empowerment"
    REHABILITATION = "rehabilitation"


class Period(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ONE_OFF = "one_off"


class Stage(StrEnum):
    """Life-cycle stages a person can be in on a payment date (several at once is possible)."""

    PREGNANT = "pregnant"
    EARLY_CHILDHOOD = "early_childhood"
    PRIMARY_SCHOOL = "primary_school"
    JUNIOR_SCHOOL = "junior_school"
    SENIOR_SCHOOL = "senior_school"
    SEVERE_DISABILITY = "severe_disability"
    ELDERLY = "elderly"


class Component(BaseModel):
    """One payable line: per person in a stage, or once per household."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    per: Literal["person", "household"]
    stage: Stage | None = None
    amount: int = Field(gt=0, description="rupiah per period")
    # Elderly thresholds differ between programmes (60 for PKH, 70 for some allowances).
    min_age: int | None = Field(default=None, ge=0)
    # Components sharing a group are alternatives for one person: only the largest is paid.
    exclusive_group: str | None = None

    @model_validator(mode="after")
    def _stage_matches_per(self) -> Component:
        if self.per == "person" and self.stage is None:
            raise ValueError(f"component {self.code!r} is per person but names no stage")
        if self.per == "household" and self.stage is not None:
            raise ValueError(f"component {self.code!r} is per household but names a stage")
        return self


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: str
    cluster: Cluster
    period: Period
    budget: int = Field(ge=0, description="rupiah available for the whole programme")
    components: tuple[Component, ...] = Field(min_length=1)
    # PKH counts at most four members per family; None means no cap.
    max_counted_members: int | None = Field(default=None, ge=1)
    starts: date | None = None
    ends: date | None = None
    # Region prefixes (province "32" or province+regency "3201"); empty means nationwide.
    regions: tuple[str, ...] = ()
    # Emergency programmes pay every household in their regions, not only enrolled members.
    open_to_all_in_region: bool = False
    # Payouts at terminals outside the household's home region.
    outside_region: RegionPolicy = RegionPolicy()

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        codes = [c.code for c in self.components]
        if len(codes) != len(set(codes)):
            raise ValueError(f"programme {self.code} repeats a component code")
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError(f"programme {self.code} ends before it starts")
        for region in self.regions:
            if not (region.isdigit() and len(region) in (2, 4)):
                raise ValueError(f"programme {self.code}: region {region!r} is not 2 or 4 digits")
        return self

    def is_open_on(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and (
            self.ends is None or day <= self.ends
        )

    def covers_region(self, region_code: str) -> bool:
        return not self.regions or any(region_code.startswith(r) for r in self.regions)


class ProgrammeCatalogue(BaseModel):
    """Every programme plus cross-programme exclusions (`PROG.component` pairs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    programmes: tuple[Programme, ...]
    exclusive: tuple[tuple[str, str], ...] = ()

    @model_validator(mode="after")
    def _references_exist(self) -> ProgrammeCatalogue:
        codes = [p.code for p in self.programmes]
        if len(codes) != len(set(codes)):
            raise ValueError("two programmes share a code")
        known = {f"{p.code}.{c.code}" for p in self.programmes for c in p.components}
        for pair in self.exclusive:
            for ref in pair:
                if ref not in known:
                    raise ValueError(f"exclusion names unknown component {ref!r}")
        return self

    def get(self, code: str) -> Programme:
        for programme in self.programmes:
            if programme.code == code:
                return programme
        raise KeyError(code)


def load_catalogue(path: Path) -> ProgrammeCatalogue:
    """Read and validate a programme file; every problem is reported with its location."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProgrammeConfigError(f"cannot read programme file {path}: {exc}") from exc
    return parse_catalogue(raw, source=str(path))


def parse_catalogue(raw: dict[str, object], *, source: str = "<data>") -> ProgrammeCatalogue:
    try:
        return ProgrammeCatalogue.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ProgrammeConfigError(f"{source}: {problems}") from exc
