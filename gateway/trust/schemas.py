"""API shapes of biometric updates, case-worker approvals, cash-out approvals and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class BiometricUpdateView(BaseModel):
    reference: str
    status: str
    region: str
    terminal: str
    proof_fmr: float | None
    case_worker: str | None
    supervisor: str | None
    created_at: dt.datetime


class UpdateDecision(BaseModel):
    decision: Literal["approve", "refuse"]
    reason: str = Field(min_length=10, max_length=1000)


class CaseWorkerApprovalRequest(BaseModel):
    operator_id: str = Field(min_length=1, max_length=64)
    region: str = Field(pattern=r"^[0-9]{4}$", description="Province + regency the worker serves")


class CaseWorkerApprovalView(BaseModel):
    reference: str
    operator_id: str
    region: str
    supervisor: str
    expires_at: dt.datetime


class CashOutApprovalRequest(BaseModel):
    reason: str = Field(min_length=10, max_length=1000)


class CashOutApprovalView(BaseModel):
    verification: str
    supervisor: str
    created_at: dt.datetime


class AlertView(BaseModel):
    terminal: str
    kind: str
    day: dt.date
    count: int
    baseline: float
    created_at: dt.datetime
