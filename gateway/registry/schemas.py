"""API shapes of the register: import summaries and household views (never a clear NIK)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ImportError_(BaseModel):
    line: int
    field: str
    code: str
    message: str


class ImportResult(BaseModel):
    import_id: str = Field(description="Id of this import; its full error report is kept")
    rows: int
    imported: int
    errors: int
    households_created: int
    households_updated: int
    people_created: int
    people_updated: int
    memberships_added: int
    seconds: float
    first_errors: list[ImportError_] = Field(description="Up to 100 bad lines")


class MemberView(BaseModel):
    reference: str
    nik_last4: str = Field(description="Only the serial's last four digits, for a human check")
    name: str
    birth_date: dt.date
    sex: str
    relation: str
    pregnant: bool
    due_date: dt.date | None
    school_level: str | None
    severe_disability: bool
    deceased_on: dt.date | None
    enrolled: bool


class HouseholdView(BaseModel):
    reference: str
    family_card_number: str
    region: str
    district_code: str
    graduated: bool
    graduated_on: dt.date | None
    programmes: list[str]
    members: list[MemberView]
