"""API shapes of enrollments and adjudications (the captures' shapes are in biometrics)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from gateway.biometrics.schemas import CaptureReport, Captures


class EnrollmentRequest(Captures):
    nik: str = Field(min_length=1, max_length=32, description="The person's NIK (16 digits)")
    proof: Captures | None = Field(
        default=None,
        description="For a person already enrolled: live captures of fingers or eyes enrolled "
        "now, matched against them (the new captures themselves count too)",
    )


class DuplicateCandidate(BaseModel):
    person: str
    household: str
    score: float
    fmr: float
    modality: str


EnrollmentStatus = Literal["enrolled", "pending_adjudication", "pending_update"]


class EnrollmentResult(BaseModel):
    enrollment: str
    status: EnrollmentStatus
    person: str
    household: str
    captures: list[CaptureReport]
    adjudication: str | None = None
    update: str | None = Field(
        default=None, description="A biometric update of an enrolled person: its reference"
    )


class AdjudicationView(BaseModel):
    reference: str
    enrollment: str
    person: str
    status: str
    candidates: list[DuplicateCandidate]
    decision: str | None
    adjudicator: str | None
    reason: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class AdjudicationDecision(BaseModel):
    decision: Literal["merge", "refuse", "enroll"] = Field(
        description="Same person: `merge` into the candidate or `refuse`; different: `enroll`"
    )
    candidate: str | None = Field(
        default=None, description="For `merge`: the candidate person reference it merges into"
    )
    reason: str = Field(min_length=3, max_length=1000)
